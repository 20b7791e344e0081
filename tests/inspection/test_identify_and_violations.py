"""1:N identification with no document, and violations/rectifications an inspector records."""

from __future__ import annotations

import pytest

from tests.helpers import auth
from tests.inspection.conftest import make_guard, make_org

# searched again on the Milvus gallery backend (make test-milvus)
pytestmark = pytest.mark.gallery


def identify(client, key, photo):
    return client.post("/inspections/identify", headers=auth(key),
                       files={"face": ("p.jpg", photo, "image/jpeg")})


def test_identify_finds_the_enrolled_guard(client, keys, posted, face_jpeg):
    out = identify(client, keys["inspector"], face_jpeg).json()
    assert out["outcome"] == "identified" and out["mode"] == "identify"
    top = out["candidates"][0]
    assert top["guard_id"] == posted.guard_id and top["certificate_number"] == posted.number
    assert top["evidence"] >= 4 and top["name_masked"].startswith("王")


def test_identify_unknown_person_is_an_explicit_no_match(client, keys, posted, datasets):
    other = datasets / "faces" / "samples" / "obama-720p.jpg"
    if not other.exists():
        pytest.skip(f"{other} not present")
    out = identify(client, keys["inspector"], other.read_bytes()).json()
    assert out["outcome"] == "unknown_person" and out["candidates"] == []
    v = client.get("/violations", headers=auth(keys["admin"])).json()["items"]
    assert [x["column"] for x in v] == [15]


def test_manual_violation_with_evidence_and_rectification(client, keys, face_jpeg):
    org = make_org(client, keys, name="某物业公司", org_type="property_management",
                   licence_status="unfiled")
    r = client.post("/violations", headers=auth(keys["inspector"]),
                    data={"category": "outside_premises", "organisation_id": str(org),
                          "site": "某小区", "note": "对外提供保安服务"},
                    files={"evidence": ("e.jpg", face_jpeg, "image/jpeg")})
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["column"] == 12 and v["district"] == "蓟州区" and v["has_evidence"]
    photo = client.get(f"/violations/{v['id']}/evidence", headers=auth(keys["police"]))
    assert photo.content == face_jpeg
    assert client.get(f"/violations/{v['id']}/evidence",
                      headers=auth(keys["inspector"])).status_code == 403
    u = client.post("/violations", headers=auth(keys["inspector"]),
                    data={"category": "uniform", "district": "蓟州区", "persons": "3"})
    assert u.json()["column"] == 16 and u.json()["persons"] == 3
    rect = client.post("/rectifications", headers=auth(keys["police"]),
                       json={"action": "unit_filed", "organisation_id": org,
                             "violation_id": v["id"]})
    assert rect.status_code == 201 and rect.json()["column"] == 21
    listed = client.get("/violations", headers=auth(keys["district_police"]),
                        params={"category": "uniform"}).json()
    assert listed["total"] == 1
    audit = client.get("/audit", headers=auth(keys["auditor"]),
                       params={"action": "violation.evidence_read"}).json()
    assert len(audit) == 1


@pytest.mark.parametrize(("data", "code"), [
    ({"category": "not_a_category", "district": "蓟州区"}, "invalid_request"),
    ({"category": "uniform"}, "conflict"),
    ({"category": "uniform", "organisation_id": "987654"}, "not_found"),
    ({"category": "uniform", "district": "蓟州区", "persons": "0"}, "invalid_request"),
])
def test_bad_violation_input(client, keys, data, code):
    r = client.post("/violations", headers=auth(keys["inspector"]), data=data)
    assert 400 <= r.status_code < 500 and r.json()["code"] == code, r.text


def test_scoped_inspector_cannot_record_elsewhere(client, keys, runtime):
    from registry import apikeys
    from registry.models import Role

    with runtime.sessions() as s:
        key = apikeys.create(db_session=s, role=Role.inspector, name="hp", district="和平区").token
        s.commit()
    r = client.post("/violations", headers=auth(key),
                    data={"category": "uniform", "district": "蓟州区"})
    assert r.status_code == 403  # names a district, not a record: refused, nothing revealed
    g = make_guard(client, keys, 601, make_org(client, keys, licence_no="TJ-L-9"), photo=None)
    r = client.post("/inspections/verify", headers=auth(key),
                    data={"certificate_number": g.number},
                    files={"face": ("x.jpg", b"\xff\xd8bad", "image/jpeg")})
    assert r.status_code == 400  # the probe is refused before any lookup


@pytest.mark.parametrize("mode", ["exact", "sq16"])
def test_face_only_identification_fetches_only_guards_that_can_reach_its_threshold(mode):
    from biometrics.gallery import FaceGallery
    from biometrics.probes import Probe
    from inspection.identify import EXACT_SCORE_SLACK, _face_floor
    from inspection.service import Matchers
    from matching.face.params import DEFAULT_THRESHOLDS

    m = Matchers(face_engine=None, face_thresholds=dict(DEFAULT_THRESHOLDS),
                 face_gallery=FaceGallery(mode=mode))
    face, finger = Probe("face", None, 0.0), Probe("finger", None, 0.0)
    loosest = min(DEFAULT_THRESHOLDS.values())
    assert _face_floor(m, [face, finger], 1e-4) == loosest  # fusion may still lift it
    expected = DEFAULT_THRESHOLDS["face_fmr_1e-4"] - EXACT_SCORE_SLACK if mode == "exact" \
        else loosest  # approximate scores: re-score everything the loose floor lets in
    assert _face_floor(m, [face], 1e-4) == pytest.approx(expected)
