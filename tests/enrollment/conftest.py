"""Enrollment fixtures: real photos as uploads, guards' ID documents."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from tests.api.conftest import new_id  # noqa: F401  (shared ID-number maker)


def jpeg(rgb: np.ndarray) -> bytes:
    """Encode an RGB array as JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    """A passing station photo: the astronaut at 1024 px."""
    return jpeg(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))


@pytest.fixture(scope="session")
def small_face_jpeg() -> bytes:
    """A photo the gate refuses: the face is too small."""
    return jpeg(data.astronaut())


def finger_png(master: int, impression_seed: int) -> bytes:
    """One synthetic impression of finger ``master`` as PNG bytes."""
    from fixtures.synthetic_fingers import impression, master_print

    ok, buf = cv2.imencode(".png", impression(master_print(master), impression_seed))
    assert ok
    return buf.tobytes()


def submit_fingers(client, token, session_id, person: int, *, impression_seed: int = 1,
                   positions=(2, 7)) -> list[dict]:
    """Submit both index fingers of synthetic ``person`` (their masters are fixed by it)."""
    from tests.helpers import auth

    out = []
    for pos in positions:
        r = client.post(f"/enrollments/{session_id}/fingers/{pos}", headers=auth(token),
                        files={"file": (f"f{pos}.png",
                                        finger_png(10_000 + 10 * person + pos, impression_seed),
                                        "image/png")})
        assert r.status_code == 201, r.text
        assert r.json()["passed"], r.json()  # the synthetic person must give usable prints
        out.append(r.json())
    return out
