"""The station agent against a running server: a guard enrolled end to end from folder
devices; then a server outage and a station restart with the captures queued, encrypted."""

from __future__ import annotations

import re
import subprocess
import sys

import cv2
import pytest
from skimage import data
from sqlalchemy import func, select

from biometrics.models import Biometric
from devices.queue import Bundle, OfflineQueue
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


def _crop(png: bytes, side: int) -> bytes:
    """The centre ``side`` x ``side`` of an impression: too little finger for the server."""
    import numpy as np

    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    y, x = img.shape[0] // 2 - side // 2, img.shape[1] // 2 - side // 2
    return cv2.imencode(".png", img[y:y + side, x:x + side])[1].tobytes()


def test_a_face_that_never_passes_is_not_sent_and_the_output_is_bounded(
        env, station_devices, tmp_path):
    cam, scan = station_devices
    (cam / "1-near.jpg").unlink()  # only the photo whose face is too small is left
    queue = tmp_path / "q"
    down = f"http://127.0.0.1:{free_port()}"  # never contacted: nothing is forwarded
    out = station(env, down, "unused", cam, scan, queue, "--name", "远景",
                  "--id-number", new_id(125), "--district", "蓟州区",
                  # bounded by frames, not by the clock: a loaded CI machine judges fewer
                  # frames per second, and the bound must hold either way
                  "--timeout", "120", "--max-frames", "4")
    assert out.returncode == 3, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "not enrolled" in text and "closer" in text
    # Many frames judged, and (not a TTY) the status line printed once per change, not
    # once per frame.
    assert int(re.search(r"in (\d+) frame", text).group(1)) == 4, text
    assert len(out.stdout.splitlines()) <= 6, out.stdout
    q = OfflineQueue(queue)
    assert not q.pending() and not q.failed()


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "cli.main", "station", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_refused_bundle_is_reported_fixed_and_resent_once(env, runtime, keys,
                                                             station_devices, tmp_path):
    from enrollment.models import EnrollmentSession, SessionStatus

    cam, scan = station_devices
    bad = tmp_path / "bad-scanner"
    bad.mkdir()
    for f in sorted(scan.iterdir()):
        (bad / f.name).write_bytes(_crop(f.read_bytes(), 90))
    queue = tmp_path / "q"
    proc, url = start(env)
    common = ["--server", url, "--api-key", keys["station"], "--queue", str(queue)]
    try:
        out = station(env, url, keys["station"], cam, bad, queue, "--name", "重采",
                      "--id-number", new_id(127), "--district", "蓟州区")
        assert out.returncode == 1, out.stdout + out.stderr
        text = " ".join(out.stdout.split())
        assert "refused at commit: incomplete_enrollment" in text, text
        assert "closed" in text and "failed retry" in text
        q = OfflineQueue(queue)
        assert not q.pending() and len(q.failed()) == 1
        bundle_id = q.load(q.failed()[0]).id
        with runtime.sessions() as s:  # the refused visit's server session is closed
            assert [r.status for r in s.scalars(select(EnrollmentSession))] == [
                SessionStatus.abandoned]
        flush = run(env, "flush", *common)
        assert flush.returncode == 1 and "1 refused bundle(s) wait" in flush.stdout
        listed = run(env, "failed", "list", "--queue", str(queue))
        assert bundle_id[:8] in listed.stdout and "incomplete_enrollment" in listed.stdout
        shown = run(env, "failed", "show", bundle_id[:8], "--queue", str(queue))
        assert "step: commit" in shown.stdout and "recapture the fingers" in shown.stdout
        fixed = run(env, "failed", "retry", bundle_id[:8], *common, "--scanner-folder",
                    str(scan), "--fingers", "2,7")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "revision 1" in fixed.stdout and "committed" in fixed.stdout
        again = run(env, "flush", *common)
        assert again.returncode == 0 and "nothing to send" in again.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not q.pending() and not q.failed()
    assert count(runtime, Guard) == 1 and count(runtime, Biometric) == 3
    with runtime.sessions() as s:
        assert sorted(r.status for r in s.scalars(select(EnrollmentSession))) == sorted(
            [SessionStatus.abandoned, SessionStatus.committed])


def test_status_line_rewrites_one_line_on_a_terminal():
    import io

    from cli.station_ui import StatusLine

    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    line = StatusLine(out)
    for text in ["face: come closer"] * 50 + ["face: captured"]:
        line(text)
    line.end()
    assert out.getvalue().count("\n") == 1 and out.getvalue().count("\r") == 2
    assert out.getvalue().endswith("face: captured   \n")  # the longer text is blanked out


def test_a_failed_bundle_is_requeued_as_a_new_revision_or_discarded(tmp_path):
    q = OfflineQueue(tmp_path / "q")
    first, second = Bundle(guard_id=7, face=b"face"), Bundle(guard_id=8, face=b"face")
    for b in (first, second):
        q.fail(q.put(b), {"step": "commit", "code": "incomplete_enrollment", "message": "m"})
    assert not q.pending() and len(q.failed()) == 2
    path = q.find_failed(first.id[:8])
    assert q.reason(path)["code"] == "incomplete_enrollment"
    fixed = q.load(path)
    fixed.fingers[2] = b"new print"
    q.requeue(path, fixed)
    (again,) = [q.load(p) for p in q.pending()]
    assert again.id == first.id and again.revision == 1 and again.fingers == {2: b"new print"}
    assert again.key != first.key  # its requests carry new idempotency keys
    q.discard(q.find_failed(second.id[:8]))
    assert not q.failed() and not list((tmp_path / "q" / "failed").iterdir())
