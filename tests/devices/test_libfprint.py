"""libfprint 2 end to end: its virtual image reader is fed a fingerprint over its socket and
the real library captures it; guardid must return exactly the pixels that were fed."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from devices import LibfprintScanner
from devices.exceptions import CaptureTimeout, DeviceNotConnected
from devices.libfprint import SYSTEM_PYTHON


def libfprint_available() -> bool:
    probe = ("import gi; gi.require_version('FPrint', '2.0'); "
             "from gi.repository import FPrint")
    return os.path.exists(SYSTEM_PYTHON) and subprocess.run(
        [SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not libfprint_available(), reason=(
    "libfprint 2 with GObject introspection is not installed (Debian libfprint-2-2, "
    "gir1.2-fprint-2.0, python3-gi)"))


def ridge_image(seed: int = 0, size: tuple[int, int] = (480, 400)) -> np.ndarray:
    """A fingerprint-like ridge texture: noise band-passed along a swirling orientation field.

    libfprint runs NBIS minutiae detection on every capture and refuses pure noise, so the
    fed image must look like ridges (real FVC impressions are used when present).
    """
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = rng.standard_normal((h, w)).astype(np.float32)
    theta = np.arctan2(yy - h * 0.55, xx - w * 0.5) / 2 + np.pi / 2
    for _ in range(6):
        out = np.zeros_like(img)
        for k in range(8):
            angle = k * np.pi / 8
            kern = cv2.getGaborKernel((17, 17), 4.0, angle, 9.0, 0.9, 0)
            resp = cv2.filter2D(img, -1, kern)
            weight = np.cos(theta - angle) ** 16
            out += weight * resp
        img = np.tanh(out / (out.std() + 1e-6) * 2)
    return np.clip(128 + 110 * img, 0, 255).astype(np.uint8)


def feed(path: str, pixels: np.ndarray) -> threading.Thread:
    """Send ``pixels`` to libfprint's virtual image socket once it exists."""
    def run():
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            h, w = pixels.shape
            s.sendall(struct.pack("ii", w, h) + pixels.tobytes())
            time.sleep(2)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture
def impression(datasets_or_none):
    if datasets_or_none is not None:
        f = datasets_or_none / "fingerprints" / "fvc2004-db1b" / "images" / "101_1.tif"
        if f.exists():
            return cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
    return ridge_image()


def test_virtual_reader_returns_the_fed_pixels(tmp_path, impression):
    sock = str(tmp_path / "virtimg.sock")
    with LibfprintScanner(env={"FP_VIRTUAL_IMAGE": sock}) as scanner:
        assert scanner.name and "virtual" in scanner.name.lower()
        feeder = feed(sock, impression)
        got = scanner.capture(timeout_s=20)
        feeder.join(5)
    assert got.shape == impression.shape and np.array_equal(got, impression)
    assert scanner.resolution_ppi == 500


def test_no_finger_is_a_timeout_and_no_reader_is_not_connected(tmp_path):
    sock = str(tmp_path / "virtimg.sock")
    with LibfprintScanner(env={"FP_VIRTUAL_IMAGE": sock}) as scanner:
        with pytest.raises(CaptureTimeout):
            scanner.capture(timeout_s=1)
    env = {"FP_VIRTUAL_IMAGE": "", "FP_DEVICE_EMULATION": "0"}
    with pytest.raises(DeviceNotConnected):
        LibfprintScanner(env=env).open()
