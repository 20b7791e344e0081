"""Shared fixtures for the biometric core: one face engine per test session, real images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from matching.face import FaceEngine


@pytest.fixture(scope="session")
def face_engine() -> FaceEngine:
    """The real dlib-backed engine with the enrolment gate (models load once)."""
    engine = FaceEngine()
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def astronaut_big() -> np.ndarray:
    """skimage's astronaut upscaled to 1024 px: a frontal face that passes the gate."""
    return cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)


def encode(rgb: np.ndarray, ext: str = ".jpg", **params) -> bytes:
    """Encode an RGB array with OpenCV (PNG, JPEG, BMP, TIFF, WebP)."""
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params.items())[0]
                           if params else [])
    assert ok
    return buf.tobytes()
