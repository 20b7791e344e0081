"""The station agent against a running server: a guard enrolled end to end from folder
devices; then a server outage and a station restart with the captures queued, encrypted."""

from __future__ import annotations

import subprocess
import sys

import cv2
import pytest
from skimage import data
from sqlalchemy import func, select

from devices.queue import OfflineQueue
from enrollment.models import Biometric
from registry.models import Guard
from tests.api.conftest import new_id
from tests.enrollment.conftest import finger_png
from tests.helpers import auth
from tests.servers import ROOT, free_port, start


@pytest.fixture
def station_devices(tmp_path):
    cam, scan = tmp_path / "camera", tmp_path / "scanner"
    cam.mkdir()
    scan.mkdir()
    big = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(cam / "0-far.jpg"), cv2.cvtColor(cv2.resize(big, (300, 300)),
                                                     cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(cam / "1-near.jpg"), cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    for i, pos in enumerate((2, 7)):
        (scan / f"{i}.png").write_bytes(finger_png(10_000 + 10 * 950 + pos, 1))
    return cam, scan


def station(env, server, key, cam, scan, queue, *args):
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "station", "enrol", "--server", server,
         "--api-key", key, "--queue", str(queue), "--camera-folder", str(cam),
         "--scanner-folder", str(scan), *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300)


def count(runtime, table):
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_station_enrols_end_to_end(env, runtime, keys, station_devices, tmp_path):
    proc, url = start(env)
    try:
        out = station(env, url, keys["station"], *station_devices, tmp_path / "q",
                      "--name", "站点", "--id-number", new_id(121), "--district", "蓟州区")
        assert out.returncode == 0, out.stderr
        assert "committed" in out.stdout
        assert "closer" in out.stdout  # live feedback on the first, too distant frame
        assert "captured after 2 frame(s)" in out.stdout
        assert count(runtime, Biometric) == 3 and count(runtime, Guard) == 1
        assert not OfflineQueue(tmp_path / "q").pending()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_outage_and_restart_lose_nothing(env, runtime, keys, station_devices, tmp_path,
                                         client):
    queue = tmp_path / "q"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens here: the server is down
    out = station(env, down, keys["station"], *station_devices, queue,
                  "--name", "离线", "--id-number", new_id(123), "--district", "蓟州区")
    assert out.returncode == 0 and "queued offline" in out.stdout
    pending = OfflineQueue(queue).pending()
    assert len(pending) == 1
    raw = pending[0].read_bytes()
    assert "离线".encode() not in raw and new_id(123).encode() not in raw  # encrypted at rest
    assert count(runtime, Guard) == 0
    # The station restarts (a new process) and the server comes back.
    proc, url = start(env)
    try:
        flush = [sys.executable, "-m", "cli.main", "station", "flush", "--server", url,
                 "--api-key", keys["station"], "--queue", str(queue)]
        done = subprocess.run(flush, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0 and "committed" in done.stdout, done.stdout + done.stderr
        again = subprocess.run(flush, cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == 0 and "committed" not in again.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert count(runtime, Guard) == 1 and count(runtime, Biometric) == 3
    guards = client.get("/guards", headers=auth(keys["admin"])).json()
    assert guards["items"][0]["name"] == "离线"
