"""The finger gate refuses an image with no ridge pattern (a face photo) with its own code,
and real and synthetic prints still pass it."""

from pathlib import Path

import pytest

from enrollment.fingers import judge
from matching.finger import FingerprintEngine, decode_fingerprint
from tests.enrollment.conftest import finger_png
from tests.helpers import auth

LIMITS = {"max_bytes": 15 * 1024 * 1024, "max_pixels": 40_000_000}


def _session(client, keys, seq: int) -> int:
    from tests.api.conftest import new_id

    r = client.post("/enrollments", headers=auth(keys["station"]), json={"guard": {
        "name": "指纹", "id_number": new_id(seq), "district": "蓟州区"}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_face_photo_is_not_a_finger(client, keys, face_jpeg):
    sid = _session(client, keys, 301)
    r = client.post(f"/enrollments/{sid}/fingers/2", headers=auth(keys["station"]),
                    files={"file": ("face.jpg", face_jpeg, "image/jpeg")})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["passed"] is False
    assert "finger_no_ridges" in [x["code"] for x in out["reasons"]]
    ok = client.post(f"/enrollments/{sid}/fingers/7", headers=auth(keys["station"]),
                     files={"file": ("f.png", finger_png(10_777, 1), "image/png")})
    assert ok.json()["passed"], ok.json()


def _codes(engine, path: Path) -> set[str]:
    gray = decode_fingerprint(path.read_bytes(), **LIMITS)
    return {r["code"] for r in judge(engine.analyze(gray), min_quality=0)}


def test_real_prints_keep_passing_and_face_photos_do_not(datasets):
    """Every 8th FVC impression (30 of 240) passes the ridge check; LFW faces fail it.

    bench/finger_ridge_gate.py runs all 240 impressions (0 refused) and 136 faces.
    """
    engine = FingerprintEngine()
    prints = sorted(datasets.glob("fingerprints/*/images/*"))[::8]
    faces = sorted((datasets / "faces" / "lfw-dev" / "images").glob("*/*.jpg"))[::250]
    if not prints or not faces:
        pytest.skip("FVC or LFW images missing from the datasets folder")
    refused = [p.name for p in prints if "finger_no_ridges" in _codes(engine, p)]
    assert refused == []
    accepted = [p.name for p in faces if "finger_no_ridges" not in _codes(engine, p)]
    assert accepted == []


def test_a_large_photo_is_judged_not_crashed():
    """A 900 px photo samples > 2,048 ridge blocks (more rows than one cv2.remap takes) and
    yields tens of thousands of minutia candidates (a full distance matrix took gigabytes)."""
    import cv2
    from skimage import data

    gray = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY), (900, 900))
    result = FingerprintEngine().analyze(gray)
    assert "finger_no_ridges" in {r["code"] for r in judge(result, min_quality=0)}
