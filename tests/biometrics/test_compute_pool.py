"""Probes computed in the compute pool equal those computed in-process; errors cross intact."""

from __future__ import annotations

import numpy as np
import pytest

from biometrics.compute import ComputePool
from biometrics.probes import face_probe
from matching.exceptions import ImageError, QualityError
from matching.face import FaceEngine
from tests.matching.conftest import encode

LIMITS = {"max_bytes": 10**8, "max_pixels": 10**8}


@pytest.fixture(scope="module")
def pool():
    """One compute process with the default face parameters."""
    p = ComputePool(1, FaceEngine().params)
    p.warm_up()
    yield p
    p.close()


def test_face_probe_equals_the_in_process_one(pool):
    import cv2
    from skimage import data

    photo = encode(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    pooled = pool.face_probe(photo, **LIMITS)
    local = face_probe(FaceEngine(), photo, **LIMITS)
    assert pooled.modality == "face" and pooled.quality == pytest.approx(local.quality)
    assert np.abs(pooled.template.vector - local.template.vector).max() < 1e-6


def test_errors_cross_with_their_code_and_details(pool):
    blank = encode(np.full((600, 600, 3), 128, np.uint8))
    with pytest.raises(QualityError) as err:
        pool.face_probe(blank, **LIMITS)
    assert [d["code"] for d in err.value.details] == ["no_face"]
    with pytest.raises(ImageError) as err:
        pool.face_probe(b"not an image", **LIMITS)
    assert err.value.code == "image_unreadable"
    with pytest.raises(ImageError) as err:
        pool.face_probe(blank, max_bytes=10, max_pixels=10**8)
    assert err.value.code == "image_too_large"


def test_finger_probe_in_the_pool(pool):
    import cv2

    from biometrics.probes import finger_probe
    from fixtures.synthetic_fingers import impression, master_print
    from matching.finger import FingerprintEngine, Matcher

    png = cv2.imencode(".png", impression(master_print(3), 1))[1].tobytes()
    pooled = pool.finger_probe(png, position=7, **LIMITS)
    local = finger_probe(FingerprintEngine(), png, position=7, **LIMITS)
    assert pooled.modality == "finger" and pooled.position == 7
    assert pooled.template.to_bytes() == local.template.to_bytes()
    assert Matcher(pooled.template).match(local.template) > 0.9


def test_compute_processes_end_when_the_server_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.servers import ROOT

    script = ("from biometrics.compute import ComputePool\n"
              "from matching.face.params import FaceParams\n"
              "import time\n"
              "p = ComputePool(1, FaceParams()); p.warm_up()\n"
              "print(*p._pool._processes, flush=True)\n"
              "time.sleep(120)\n")
    server = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    children = [int(x) for x in server.stdout.readline().split()]
    assert children
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    deadline = time.monotonic() + 20
    alive = children
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [c for c in children if _running(c)]
    assert alive == [], "compute processes outlived the killed server"


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def _die() -> None:
    """Kill the compute process running this, as a native crash would."""
    import os

    os._exit(3)


def test_a_dying_process_is_replaced_and_the_input_refused(pool, tmp_path):
    with pytest.raises(ImageError) as err:
        pool.run(_die)
    assert err.value.code == "image_unprocessable"
    blank = encode(np.full((600, 600, 3), 128, np.uint8))
    with pytest.raises(QualityError):  # the pool works again: a real answer, not a crash
        pool.face_probe(blank, **LIMITS)
