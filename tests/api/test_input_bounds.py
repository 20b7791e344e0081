"""Input the database cannot hold, or should not, is refused with a 422/400 and a code.

Each case here reached a 500 (OverflowError, IntegrityError, csv.Error) or was silently
accepted (a blank district, a naive datetime, any bytes as evidence) before its own validation.
"""

import io
import zipfile

import pytest
from PIL import Image

from tests.helpers import auth

HUGE = "99999999999999999999"
OVER_INT = str(2**31)  # fits SQLite's 64-bit INTEGER, not PostgreSQL's 32-bit INTEGER


@pytest.mark.parametrize("big", [HUGE, OVER_INT])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/guards/{n}", None),
    ("GET", "/guards?employer_id={n}", None),
    ("PATCH", "/guards/1", {"employer_id": "{n}"}),
    ("GET", "/organisations/{n}", None),
    ("PATCH", "/organisations/{n}", {"credit_grade": "A"}),
    ("GET", "/certificates?guard_id={n}", None),
    ("POST", "/certificates", {"number": "ZA-0001", "guard_id": "{n}",
                               "issue_date": "2024-01-01"}),
    ("GET", "/certificates/revocations?since={n}", None),
    ("GET", "/enrollments/{n}", None),
    ("POST", "/enrollments", {"guard_id": "{n}"}),
    ("GET", "/reviews/{n}/images/capture/1", None),
    ("GET", "/guards/{n}/archive", None),
    ("GET", "/inspections/{n}", None),
    ("GET", "/violations/{n}", None),
    ("POST", "/rectifications", {"action": "unit_filed", "guard_id": "{n}"}),
    ("GET", "/exams/{n}", None),
    ("POST", "/exams/1/candidates", {"guard_ids": ["{n}"]}),
])
def test_integers_beyond_the_database_range_are_refused(client, keys, method, path, body, big):
    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return int(big) if value == "{n}" else value

    r = client.request(method, path.format(n=big), headers=auth(keys["admin"]),
                       json=fill(body) if body is not None else None)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("field", ["name", "district", "duty_status", "background_check",
                                   "skill_level"])
def test_null_for_a_required_guard_field_is_refused(client, keys, world, field):
    guard = world["guards"][0]
    r = client.patch(f"/guards/{guard['id']}", headers=auth(keys["admin"]), json={field: None})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and field in r.json()["message"]
    # employer_id and post_site may be cleared
    r = client.patch(f"/guards/{guard['id']}", headers=auth(keys["admin"]),
                     json={"post_site": None})
    assert r.status_code == 200 and r.json()["post_site"] is None


@pytest.mark.parametrize("field", ["name", "licence_status", "list_status"])
def test_null_for_a_required_organisation_field_is_refused(client, keys, world, field):
    org = world["orgs"][0]
    r = client.patch(f"/organisations/{org['id']}", headers=auth(keys["admin"]),
                     json={field: None})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"


@pytest.mark.parametrize("district", ["", "   ", "河西\n区", "a\tb"])
def test_blank_or_malformed_districts_are_refused_everywhere(client, keys, world, district):
    admin = auth(keys["admin"])
    guard = world["guards"][0]
    writes = [
        ("PATCH", f"/guards/{guard['id']}", {"district": district}),
        ("POST", "/guards", {"name": "新人", "id_number": "120225198503070019",
                             "district": district}),
        ("POST", "/organisations", {"name": "新单位", "org_type": "security_company",
                                    "licence_status": "licensed", "district": district}),
        ("POST", "/rectifications", {"action": "unit_filed", "district": district}),
        ("POST", "/exams", {"name": "考试", "site": "考场", "district": district,
                            "exam_date": "2026-01-05"}),
    ]
    for method, path, body in writes:
        r = client.request(method, path, headers=admin, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] == "invalid_request"
    # the guard is still found in its district; a padded name is trimmed, not refused
    listed = client.get("/guards", headers=admin, params={"district": guard["district"]}).json()
    assert guard["id"] in [g["id"] for g in listed["items"]]
    r = client.patch(f"/guards/{guard['id']}", headers=admin, json={"district": "  和平区\n"})
    assert r.status_code == 200 and r.json()["district"] == "和平区"


def test_naive_datetimes_are_refused_and_times_come_back_with_their_offset(client, keys):
    admin = auth(keys["admin"])
    body = {"action": "unit_filed", "district": "蓟州区"}
    r = client.post("/rectifications", headers=admin, json={**body, "at": "2026-03-01T08:00:00"})
    assert r.status_code == 422 and r.json()["details"][0]["type"] == "timezone_aware"
    r = client.post("/rectifications", headers=admin,
                    json={**body, "at": "2026-03-01T08:00:00+08:00"})
    assert r.status_code == 201, r.text
    assert r.json()["at"] == "2026-03-01T00:00:00Z"  # stored as UTC, shown with its offset
    entries = client.get("/audit", headers=auth(keys["auditor"])).json()
    assert entries and all(e["at"].endswith("Z") for e in entries)


def test_method_not_allowed_names_the_allowed_methods(client, keys):
    r = client.delete("/guards", headers=auth(keys["admin"]))
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "hello")
    return buf.getvalue()


def _png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), (120, 80, 40)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("content", "status", "code"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 400,
     "image_unreadable"),
    (_zip(), 400, "image_unreadable"),
    (_png(64)[:60], 400, "image_unreadable"),  # truncated
    (_png(8), 400, "image_too_small"),
])
def test_violation_evidence_must_be_an_image(client, keys, world, content, status, code):
    form = {"category": "unlicensed_service", "district": "蓟州区"}
    r = client.post("/violations", headers=auth(keys["inspector"]), data=form,
                    files={"evidence": ("e.bin", content, "application/octet-stream")})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    r = client.post("/violations", headers=auth(keys["inspector"]), data=form,
                    files={"evidence": ("e.png", _png(64), "image/png")})
    assert r.status_code == 201 and r.json()["has_evidence"]


@pytest.mark.parametrize("path", ["/guards/import", "/organisations/import"])
def test_a_csv_field_over_the_limit_is_a_clear_error(client, keys, path):
    content = ("name,district\n" + "x" * 140_000 + ",蓟州区\n").encode()
    r = client.post(path, headers=auth(keys["admin"]),
                    files={"file": ("big.csv", content, "text/csv")})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "csv_field_too_long" and "near line 2" in r.json()["message"]


def test_bulk_mapping_csv_with_a_huge_field_is_refused(tmp_path):
    import csv

    from enrollment.bulk import read_rows
    from registry.exceptions import ImportFileError
    from registry.importer import checked_csv

    mapping = tmp_path / "mapping.csv"
    mapping.write_text("name,face\na,a.jpg\n" + "b" * 140_000 + ",b.jpg\n")
    with pytest.raises(ImportFileError) as caught:
        list(read_rows(mapping))
    assert caught.value.code == "csv_field_too_long" and "near line" in caught.value.message
    assert list(checked_csv(csv.reader(io.StringIO("a,b\n1,2\n")))) == [["a", "b"], ["1", "2"]]
