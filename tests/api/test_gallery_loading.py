"""Serving while the galleries load: /healthz answers, /readyz says "loading" with progress,
a request that searches a gallery gets 503 gallery_loading (after authentication) with a
Retry-After, and everything else works; once loaded, the search answers."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from api.app import create_app
from fixtures.gallery_seed import seed_face_gallery
from tests.enrollment.conftest import face_jpeg  # noqa: F401  (a passing station photo)
from tests.helpers import auth


def _identify(client, headers, photo):
    return client.post("/inspections/identify", headers=headers,
                       files={"face": ("p.jpg", photo, "image/jpeg")})


def test_searches_wait_for_the_galleries_while_everything_else_works(runtime, keys,
                                                                   face_jpeg):  # noqa: F811
    with runtime.sessions() as s:
        seed_face_gallery(s, runtime.vault, 5)
    # The load replays the face gallery under its lock: holding it keeps the load in progress
    # for as long as the test needs (real loader, real app; no timing luck).
    lock = runtime.face_gallery._lock
    lock.acquire()
    held = True
    try:
        runtime.start_loading()
        with TestClient(create_app(runtime=runtime)) as c:
            assert c.get("/healthz").status_code == 200
            r = c.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["galleries"] == "loading"
            assert {g["modality"] for g in r.json()["progress"]["galleries"]} == {
                "face", "finger"}
            assert _identify(c, {}, face_jpeg).status_code == 401  # authentication first
            r = _identify(c, auth(keys["inspector"]), face_jpeg)
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "gallery_loading" and int(r.headers["Retry-After"]) > 0
            assert c.get("/guards", headers=auth(keys["admin"])).status_code == 200
            lock.release()
            held = False
            deadline = time.monotonic() + 120
            while c.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, c.get("/readyz").json()
                time.sleep(0.05)
            r = _identify(c, auth(keys["inspector"]), face_jpeg)
            assert r.status_code == 200, r.text
    finally:
        if held:
            lock.release()
        runtime.stop_loading()
    assert runtime.loader is None  # the app's shutdown stopped and joined it
    assert not [t for t in threading.enumerate() if t.name == "guardid-gallery-loader"]
