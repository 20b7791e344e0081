"""Every role against every endpoint: the expected matrix is written out here, by hand,
and every route the app serves must appear in it."""

import pytest

from api.app import create_app
from tests.helpers import auth

ROLES = ("admin", "station", "inspector", "police", "auditor")
READERS = {"admin", "station", "inspector", "police"}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}

# (method, path template) -> roles that may call it.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("GET", "/metrics"): {"admin", "auditor"},
    ("POST", "/organisations"): {"admin"},
    ("GET", "/organisations"): READERS,
    ("GET", "/organisations/{org_id}"): READERS,
    ("PATCH", "/organisations/{org_id}"): {"admin"},
    ("POST", "/organisations/import"): {"admin"},
    ("POST", "/guards"): {"admin", "station"},
    ("GET", "/guards"): READERS,
    ("GET", "/guards/{guard_id}"): READERS,
    ("PATCH", "/guards/{guard_id}"): {"admin"},
    ("POST", "/guards/search"): READERS,
    ("POST", "/guards/import"): {"admin"},
    ("POST", "/certificates"): {"admin"},
    ("GET", "/certificates"): READERS,
    ("GET", "/certificates/{number}"): READERS,
    ("GET", "/certificates/{number}/events"): READERS,
    ("POST", "/certificates/{number}/{action}"): {"admin", "police"},
    ("POST", "/enrollments"): {"admin", "station"},
    ("GET", "/enrollments/{session_id}"): {"admin", "station"},
    ("POST", "/enrollments/{session_id}/face"): {"admin", "station"},
    ("POST", "/quality/face"): {"admin", "station"},
    ("POST", "/enrollments/{session_id}/fingers/{position}"): {"admin", "station"},
    ("POST", "/enrollments/{session_id}/fingers/{position}/exception"): {"admin", "station"},
    ("POST", "/enrollments/{session_id}/commit"): {"admin", "station"},
    ("POST", "/enrollments/{session_id}/abandon"): {"admin", "station"},
    ("POST", "/finger-exceptions/{exception_id}/{decision}"): {"admin"},
    ("GET", "/reviews"): {"admin"},
    ("POST", "/reviews/{case_id}/resolve"): {"admin"},
    ("GET", "/reviews/{case_id}/images/{kind}/{item_id}"): {"admin"},
    ("GET", "/guards/{guard_id}/archive"): READERS,
    ("GET", "/guards/{guard_id}/archive.pdf"): READERS,
    ("GET", "/certificates/keys"): READERS,
    ("POST", "/certificates/keys/rotate"): {"admin"},
    ("GET", "/certificates/revocations"): READERS,
    ("POST", "/certificates/verify-token"): READERS,
    ("POST", "/certificates/{number}/ecert"): {"admin", "station"},
    ("GET", "/certificates/{number}/qr"): {"admin", "station"},
    ("GET", "/certificates/{number}/card"): {"admin", "station"},
    ("POST", "/inspections/verify"): {"admin", "inspector"},
    ("POST", "/inspections/identify"): {"admin", "inspector"},
    ("GET", "/inspections"): {"admin", "inspector", "police"},
    ("GET", "/inspections/{check_id}"): {"admin", "inspector", "police"},
    ("GET", "/inspections/{check_id}/holder"): {"admin", "inspector"},
    ("GET", "/inspections/{check_id}/holder/photo"): {"admin", "inspector"},
    ("GET", "/mismatches"): {"admin", "police"},
    ("GET", "/mismatches/{case_id}"): {"admin", "police"},
    ("GET", "/mismatches/{case_id}/images/{kind}/{item_id}"): {"admin", "police"},
    ("POST", "/mismatches/{case_id}/decide"): {"admin", "police"},
    ("POST", "/violations"): {"admin", "inspector", "police"},
    ("GET", "/violations"): {"admin", "inspector", "police"},
    ("GET", "/violations/{violation_id}"): {"admin", "inspector", "police"},
    ("GET", "/violations/{violation_id}/evidence"): {"admin", "police"},
    ("POST", "/violations/{violation_id}/decide"): {"admin", "police"},
    ("POST", "/rectifications"): {"admin", "inspector", "police"},
    ("POST", "/exams"): {"admin"},
    ("POST", "/exams/{exam_id}/candidates"): {"admin", "station"},
    ("POST", "/exams/{exam_id}/checks"): {"admin", "station"},
    ("GET", "/exams/{exam_id}"): {"admin", "station", "police"},
    ("GET", "/reports/coverage"): {"admin", "police"},
    ("GET", "/reports/campaign"): {"admin", "police"},
    ("GET", "/reports/campaign/cells/{column}"): {"admin", "police"},
    ("POST", "/reports/campaign/freeze"): {"admin", "police"},
    ("POST", "/reports/coverage/snapshot"): {"admin", "police"},
    ("GET", "/reports/trend"): {"admin", "police"},
    ("GET", "/reports/missing"): {"admin", "police"},
    ("GET", "/reports/dashboard.html"): {"admin", "police"},
    ("GET", "/audit"): {"auditor"},
    ("GET", "/audit/verify"): {"auditor"},
}
# Placeholder values that satisfy each path parameter's type.
PARAMS = {"org_id": "999999", "guard_id": "999999", "number": "NOPE-1", "action": "suspend",
          "session_id": "999999", "position": "2", "exception_id": "999999",
          "decision": "approve", "case_id": "999999", "check_id": "999999",
          "violation_id": "999999", "exam_id": "999999", "column": "7", "kind": "capture",
          "item_id": "999999"}


def _routes():
    # The OpenAPI document lists every API route (included routers are nested objects).
    for path, ops in create_app().openapi()["paths"].items():
        for method in ops:
            yield method.upper(), path


def test_every_route_is_in_the_matrix():
    served = set(_routes())
    missing = served - set(MATRIX) - PUBLIC
    assert not missing, f"routes without an expected role set: {sorted(missing)}"
    assert not set(MATRIX) - served, "matrix names routes the app does not serve"


def _call(client, method, path, headers):
    url = path.format(**PARAMS)
    if path.endswith(("/import", "/face")):
        return client.request(method, url, headers=headers,
                              files={"file": ("x.csv", b"name\n", "text/csv")})
    body = {} if method in {"POST", "PATCH"} else None
    return client.request(method, url, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_role_matrix(client, keys, method, path):
    assert _call(client, method, path, {}).status_code == 401
    assert _call(client, method, path, auth("gid_nokey_secret")).status_code == 401
    for role in ROLES:
        status = _call(client, method, path, auth(keys[role])).status_code
        if role in MATRIX[(method, path)]:
            assert status not in (401, 403), f"{role} refused on {method} {path}"
        else:
            assert status == 403, f"{role} got {status} on {method} {path}"


def test_public_endpoints_need_no_key(client):
    for _, path in PUBLIC:
        assert client.get(path).status_code == 200


def test_denied_attempts_are_audited(client, keys):
    client.post("/organisations", headers=auth(keys["inspector"]), json={})
    entries = client.get("/audit", headers=auth(keys["auditor"]),
                         params={"action": "auth.denied"}).json()
    assert entries and entries[0]["role"] == "inspector"
    assert entries[0]["detail"]["route"] == "/organisations"
