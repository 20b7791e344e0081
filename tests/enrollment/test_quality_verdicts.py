"""Every quality rejection a station can meet, through the API: each face reason and each
fingerprint reason comes back at once, with its code and the operator's advice."""

from __future__ import annotations

import cv2
import numpy as np
from fastapi.testclient import TestClient

from api.app import create_app
from bootstrap import Runtime
from fixtures.synthetic_fingers import impression, master_print
from tests.api.conftest import new_id
from tests.helpers import auth
from tests.matching.conftest import astronaut_big, face_engine  # noqa: F401 (fixtures)
from tests.matching.face.test_quality_gate import VARIANTS


def _open(client, token, seq) -> int:
    r = client.post("/enrollments", headers=auth(token), json={"guard": {
        "name": f"质检{seq}", "id_number": new_id(seq), "district": "蓟州区"}})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _png(pixels: np.ndarray) -> bytes:
    img = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    ok, buf = cv2.imencode(".png", img)  # lossless: the server sees the variant exactly
    assert ok
    return buf.tobytes()


def _codes(verdict: dict) -> list[str]:
    assert not verdict["passed"] and all(r["advice"] for r in verdict["reasons"])
    return [r["code"] for r in verdict["reasons"]]


def test_every_face_rejection(client, keys, face_engine, astronaut_big, datasets_or_none):  # noqa: F811
    st = keys["station"]
    cases = {code: _png(np.ascontiguousarray(make(face_engine, astronaut_big)))
             for code, make in VARIANTS.items()}
    if datasets_or_none is not None:  # a real photo of a turned head (when the data is here)
        cases["pose_yaw"] = (datasets_or_none / "faces" / "samples" / "obama2.jpg").read_bytes()
    for seq, (code, photo) in enumerate(sorted(cases.items()), start=400):
        sid = _open(client, st, seq)
        r = client.post(f"/enrollments/{sid}/face", headers=auth(st),
                        files={"file": ("face.png", photo, "image/png")})
        assert r.status_code == 201, r.text
        assert code in _codes(r.json()), (code, r.json()["reasons"])


def _finger(client, token, sid, pixels) -> dict:
    r = client.post(f"/enrollments/{sid}/fingers/2", headers=auth(token),
                    files={"file": ("f.png", _png(pixels), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()


def test_every_fingerprint_rejection(client, keys, runtime):
    st = keys["station"]
    sid = _open(client, st, 420)
    assert _codes(_finger(client, st, sid, np.full((400, 320), 200, np.uint8))) == [
        "no_fingerprint_area"]
    # Only the centre of the pad touched the reader: too few minutiae to match.
    print_ = impression(master_print(10_772), 1)
    cy, cx = print_.shape[0] // 2, print_.shape[1] // 2
    partial = np.full_like(print_, 255)
    partial[cy - 50:cy + 50, cx - 50:cx + 50] = print_[cy - 50:cy + 50, cx - 50:cx + 50]
    assert "finger_few_minutiae" in _codes(_finger(client, st, sid, partial))
    # A noisy impression under a site whose collection policy asks for high quality.
    noisy = np.clip(print_ + np.random.default_rng(0).normal(0, 160, print_.shape), 0,
                    255).astype(np.uint8)
    strict = Runtime(settings=runtime.settings.model_copy(update={"finger_min_quality": 85}),
                     engine=runtime.engine, sessions=runtime.sessions, vault=runtime.vault)
    with TestClient(create_app(runtime=strict)) as strict_client:
        verdict = _finger(strict_client, st, _open(strict_client, st, 421), noisy)
    assert _codes(verdict) == ["finger_low_quality"]
    assert verdict["reasons"][0]["limit"] == 85
