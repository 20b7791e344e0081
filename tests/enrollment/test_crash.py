"""A real `kill -9` of the server in the middle of enrolments: nothing acknowledged is lost,
no half record is left, and a retried commit (same idempotency key) enrols exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
from sqlalchemy import func, select

from biometrics.models import Biometric, TemplateChange
from enrollment.models import Capture, EnrollmentSession
from tests.api.conftest import new_id
from tests.enrollment.conftest import finger_png
from tests.servers import start


def counts(runtime, session_id):
    with runtime.sessions() as s:
        return {"captures": s.scalar(select(func.count()).select_from(Capture).where(
                    Capture.session_id == session_id)),
                "biometrics": s.scalar(select(func.count()).select_from(Biometric).where(
                    Biometric.enrollment_id == session_id)),
                "changes": s.scalar(select(func.count()).select_from(TemplateChange)),
                "status": s.get(EnrollmentSession, session_id).status.value}


def test_kill_9_mid_enrolment(env, runtime, keys, face_jpeg):
    h = {"Authorization": f"Bearer {keys['station']}"}
    proc, url = start(env)
    try:
        c = httpx.Client(base_url=url, timeout=60, headers=h)
        s = c.post("/enrollments", json={"guard": {"name": "断电", "id_number": new_id(71),
                                                   "district": "蓟州区"}}).json()
        sid = s["id"]
        assert c.post(f"/enrollments/{sid}/face",
                      files={"file": ("f.jpg", face_jpeg)}).json()["passed"]
        for pos in (2, 7):
            r = c.post(f"/enrollments/{sid}/fingers/{pos}",
                       files={"file": ("f.png", finger_png(10_000 + 710 + pos, 1))})
            assert r.status_code == 201 and r.json()["passed"]
        # Send the commit and kill the server while it works on it: no answer arrives.
        thread = threading.Thread(target=lambda: _quiet_post(
            url, f"/enrollments/{sid}/commit", {**h, "Idempotency-Key": "crash-commit"}))
        thread.start()
        time.sleep(0.15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        thread.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    after_crash = counts(runtime, sid)
    assert after_crash["captures"] == 3  # every acknowledged capture survived
    # All or nothing: either the whole commit landed or none of it did.
    assert (after_crash["status"], after_crash["biometrics"]) in {("open", 0), ("committed", 3)}
    proc, url = start(env)
    try:
        c = httpx.Client(base_url=url, timeout=60, headers=h)
        again = c.post(f"/enrollments/{sid}/commit", headers={"Idempotency-Key": "crash-commit"})
        assert again.status_code == 200 and again.json()["status"] == "committed"
        twice = c.post(f"/enrollments/{sid}/commit", headers={"Idempotency-Key": "crash-commit"})
        assert twice.json()["status"] == "committed"
        final = counts(runtime, sid)
        assert final["biometrics"] == 3 and final["status"] == "committed"
        # The restarted server's galleries caught up: its own fingers are found again.
        ident = c.post("/inspections/identify",
                       headers={"Authorization": f"Bearer {keys['inspector']}"},
                       files={"finger": ("p.png", finger_png(10_000 + 717, 5))}).json()
        assert ident["outcome"] == "identified"
        assert ident["candidates"][0]["guard_id"] == s["guard_id"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _quiet_post(url, path, headers):
    try:
        httpx.post(url + path, headers=headers, timeout=30)
    except httpx.HTTPError:
        pass  # the server died mid-request, as intended
