"""1:1 spot verification through the API: every decision outcome, records and violations."""

from __future__ import annotations

import cv2
import pytest
from skimage import data

from tests.helpers import auth
from tests.inspection.conftest import SITE, jpeg, make_guard, make_org


@pytest.fixture(scope="module")
def probe_jpeg() -> bytes:
    """Another capture of the enrolled face: different size, a little darker."""
    img = cv2.resize(data.astronaut(), (900, 900), interpolation=cv2.INTER_AREA)
    return jpeg(cv2.convertScaleAbs(img, alpha=0.9, beta=-5))


def verify(client, api_key, *, face=None, finger=None, **fields):
    files = {}
    if face is not None:
        files["face"] = ("probe.jpg", face, "image/jpeg")
    if finger is not None:
        files["finger"] = ("probe.png", finger, "image/png")
    return client.post("/inspections/verify", headers=auth(api_key), data=fields,
                       files=files or None)


def violations(client, keys, **params):
    r = client.get("/violations", headers=auth(keys["admin"]), params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_match_is_recorded_with_thresholds_and_no_violation(client, keys, posted, probe_jpeg):
    r = verify(client, keys["inspector"], face=probe_jpeg, certificate_number=posted.number,
               site=SITE, latitude="39.05", longitude="117.4")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "match" and out["failed_checks"] == []
    assert out["face_score"] > out["thresholds"]["face_fmr_1e-3"]
    stored = client.get(f"/inspections/{out['check_id']}", headers=auth(keys["police"])).json()
    assert stored["inspector"] and stored["latitude"] == 39.05 and stored["face_quality"] > 0
    assert stored["site"] == SITE and stored["outcome"] == "match"
    assert violations(client, keys) == []


def test_a_bystander_behind_the_guard_does_not_spoil_the_check(client, keys, posted, runtime):
    """The subject of a spot check is the largest face; enrolment would refuse this photo."""
    import numpy as np

    big = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    guard = big[0:500, 200:640]  # head and shoulders
    scene = np.full((500, 880, 3), 255, np.uint8)
    scene[:, :440] = guard
    scene[:250, 440:660] = cv2.resize(guard, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    assert runtime.face_engine.analyze(scene).verdict.reasons[0].code == "multiple_faces"
    out = verify(client, keys["inspector"], face=jpeg(scene),
                 certificate_number=posted.number, site=SITE).json()
    assert out["outcome"] == "match", out


def test_unknown_certificate_is_no_certificate_and_column_15(client, keys, posted, probe_jpeg):
    out = verify(client, keys["inspector"], face=probe_jpeg,
                 certificate_number="TJ-0000-NONE").json()
    assert out["outcome"] == "no_certificate" and out["guard_id"] is None
    (v,) = violations(client, keys)
    assert v["category"] == "unqualified_person" and v["column"] == 15
    assert v["check_id"] == out["check_id"] and v["source"] == "derived"


@pytest.mark.parametrize(("action", "outcome"), [("revoke", "certificate_revoked"),
                                                 ("suspend", "certificate_suspended")])
def test_certificate_status(client, keys, posted, probe_jpeg, action, outcome):
    r = client.post(f"/certificates/{posted.number}/{action}", headers=auth(keys["police"]),
                    json={"reason": "background check failed"})
    assert r.status_code == 200, r.text
    out = verify(client, keys["inspector"], face=probe_jpeg,
                 certificate_number=posted.number, site=SITE).json()
    assert out["outcome"] == outcome and out["face_score"] is not None
    (v,) = violations(client, keys)
    assert v["column"] == 15 and v["guard_id"] == posted.guard_id
    assert v["organisation_id"] == posted.org_id


def test_not_enrolled(client, keys, probe_jpeg):
    g = make_guard(client, keys, 502, make_org(client, keys, licence_no="TJ-L-2"), photo=None)
    out = verify(client, keys["inspector"], face=probe_jpeg, certificate_number=g.number,
                 site=SITE).json()
    assert out["outcome"] == "not_enrolled" and out["face_score"] is None
    assert violations(client, keys)[0]["column"] == 15


def test_employer_and_duty_failures(client, keys, face_jpeg, probe_jpeg):
    black = make_org(client, keys, name="黑名单劳务公司", licence_no="TJ-L-3",
                     org_type="unqualified", list_status="black", list_reason="x")
    g = make_guard(client, keys, 503, black, photo=face_jpeg)
    out = verify(client, keys["inspector"], face=probe_jpeg, certificate_number=g.number,
                 site="另一个小区").json()
    assert out["outcome"] == "employer_blacklisted"
    assert set(out["failed_checks"]) == {"employer_blacklisted", "employer_unlicensed",
                                         "not_on_duty_here"}
    assert violations(client, keys) == []  # employer problems are not column-15 persons


def test_background_check_failed(client, keys, face_jpeg, probe_jpeg):
    g = make_guard(client, keys, 504, make_org(client, keys, licence_no="TJ-L-4"),
                   photo=face_jpeg, background_check="failed")
    out = verify(client, keys["inspector"], face=probe_jpeg, certificate_number=g.number,
                 site=SITE).json()
    assert out["outcome"] == "background_check_failed"
    assert violations(client, keys)[0]["note"].endswith("background_check_failed")


def test_a_face_mismatch_asks_for_a_recapture_and_records_no_violation(client, keys,
                                                                        datasets, posted):
    other = datasets / "faces" / "samples" / "obama-1080p.jpg"
    if not other.exists():
        pytest.skip(f"{other} not present")
    out = verify(client, keys["inspector"], face=other.read_bytes(),
                 certificate_number=posted.number, site=SITE).json()
    assert out["outcome"] == "no_match" and out["face_score"] < out["thresholds"]["face_fmr_1e-3"]
    # Not a violation yet (tests/inspection/test_mismatches.py follows the case through).
    assert violations(client, keys) == [] and out["violation_ids"] == []
    assert out["mismatch_status"] == "recapture" and "recapture (attempt 2 of" in out["next_step"]


def test_a_reviewer_decides_an_open_violation_once(client, keys, posted):
    r = client.post("/violations", headers=auth(keys["inspector"]),
                    data={"category": "uniform", "guard_id": str(posted.guard_id)})
    assert r.status_code == 201, r.text
    v = r.json()
    d = client.post(f"/violations/{v['id']}/decide", headers=auth(keys["police"]),
                    json={"status": "confirmed", "note": "photographed"})
    assert d.status_code == 200 and d.json()["status"] == "confirmed"
    again = client.post(f"/violations/{v['id']}/decide", headers=auth(keys["police"]),
                        json={"status": "dismissed"})
    assert again.status_code == 409


def test_bad_requests_are_clear_errors(client, keys, posted, probe_jpeg):
    r = verify(client, keys["inspector"], certificate_number=posted.number)
    assert r.status_code == 422 and r.json()["code"] == "no_probe"
    r = verify(client, keys["inspector"], face=probe_jpeg)
    assert r.status_code == 422 and r.json()["code"] == "no_document"
    r = verify(client, keys["inspector"], face=b"\xff\xd8\xff\xe0garbage",
               certificate_number=posted.number)
    assert r.status_code == 400 and r.json()["code"] == "image_unreadable"
    # 18 px between the eyes: below even the probe gate's 20 (the 100 px crop's 35 px passes).
    small = jpeg(cv2.resize(data.astronaut()[100:200, 150:250], (50, 50),
                            interpolation=cv2.INTER_AREA))
    r = verify(client, keys["inspector"], face=small, certificate_number=posted.number)
    assert r.status_code == 422 and r.json()["code"] in ("quality_rejected", "image_too_small")
    r = verify(client, keys["inspector"], face=probe_jpeg, token="GC1.!!!.x")
    assert r.status_code == 400 and r.json()["code"] == "certificate_token_malformed"
    r = verify(client, keys["inspector"], face=probe_jpeg, certificate_number=posted.number,
               latitude="999")
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = verify(client, keys["station"], face=probe_jpeg, certificate_number=posted.number)
    assert r.status_code == 403
    listed = client.get("/inspections", headers=auth(keys["admin"])).json()
    assert listed["total"] == 0  # refused requests decide nothing and record no check


def test_district_scoped_police_see_only_their_checks(client, keys, posted, probe_jpeg):
    verify(client, keys["inspector"], face=probe_jpeg, certificate_number=posted.number)
    mine = client.get("/inspections", headers=auth(keys["district_police"])).json()
    assert mine["total"] == 1
    other = client.get("/inspections", headers=auth(keys["district_police"]),
                       params={"district": "和平区"})
    assert other.status_code == 403


def test_fingerprint_alone_and_fused_with_the_face(client, keys, posted, probe_jpeg):
    from tests.enrollment.conftest import finger_png

    own = finger_png(10_000 + 10 * 501 + 7, 42)  # another impression of the left index
    other = finger_png(10_000 + 10 * 999 + 7, 42)  # somebody else's finger
    r = verify(client, keys["inspector"], finger=own, certificate_number=posted.number,
               site=SITE, finger_position="7")
    out = r.json()
    assert r.status_code == 200 and out["outcome"] == "match", r.text
    assert out["finger_score"] >= out["thresholds"]["finger_fmr_1e-3"]
    no_position = verify(client, keys["inspector"], finger=own,
                         certificate_number=posted.number, site=SITE).json()
    assert no_position["outcome"] == "match"  # tried against every enrolled finger
    wrong = verify(client, keys["inspector"], finger=other, certificate_number=posted.number,
                   site=SITE).json()
    assert wrong["outcome"] == "no_match"
    both = verify(client, keys["inspector"], face=probe_jpeg, finger=own,
                  certificate_number=posted.number, site=SITE).json()
    assert both["outcome"] == "match" and both["fused_evidence"] >= 3
    assert set(both["thresholds"]) == {"face_fmr_1e-3", "finger_fmr_1e-3"}
    stolen = verify(client, keys["inspector"], face=probe_jpeg, finger=other,
                    certificate_number=posted.number, site=SITE).json()
    assert stolen["finger_score"] < stolen["thresholds"]["finger_fmr_1e-3"]
    assert stolen["fused_evidence"] < both["fused_evidence"]


def test_identify_by_fingerprint(client, keys, posted):
    from tests.enrollment.conftest import finger_png

    r = client.post("/inspections/identify", headers=auth(keys["inspector"]),
                    files={"finger": ("f.png", finger_png(10_000 + 10 * 501 + 2, 43))})
    out = r.json()
    assert out["outcome"] == "identified", r.text
    assert out["candidates"][0]["guard_id"] == posted.guard_id
    assert out["candidates"][0]["finger_score"] > 0
