"""The change listener survives losing its connection: PostgreSQL ends the listening session
(a restart, a failover, an idle-connection reaper), the listener reconnects on its own and
catches the gallery up on what was committed meanwhile, without waiting for a search."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from biometrics.gallery import FaceGallery
from biometrics.replication import LISTENER_NAME, listener_for
from fixtures.gallery_seed import seed_face_gallery

WAIT_S = 10.0  # generous: the reconnect pause starts at 0.2 s


def _until(condition, timeout: float = WAIT_S) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _kill_listener(runtime) -> int:
    """Terminate the listener's server session; return how many were ended."""
    with runtime.engine.connect() as conn:
        killed = conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()"),
            {"name": LISTENER_NAME}).scalar_one()
        conn.commit()
    return int(killed)


def test_the_listener_reconnects_and_catches_up_after_its_connection_is_killed(runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite serves one process")
    gallery = FaceGallery()
    listener = listener_for(runtime.engine, runtime.sessions, runtime.vault, (gallery,))
    try:
        with runtime.sessions() as s:
            seed_face_gallery(s, runtime.vault, 2, seed=61)
        assert _until(lambda: len(gallery.owner) == 2)  # notified, no search needed
        assert _kill_listener(runtime) == 1
        with runtime.sessions() as s:  # committed while the listener is down or reconnecting
            seed_face_gallery(s, runtime.vault, 3, seed=62)
        assert _until(lambda: len(gallery.owner) == 5)
        assert listener.reconnects >= 1
        with runtime.sessions() as s:  # and it follows new commits again
            seed_face_gallery(s, runtime.vault, 1, seed=63)
        assert _until(lambda: len(gallery.owner) == 6)
    finally:
        listener.stop()
