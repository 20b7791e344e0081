"""The short de-duplication lock searches, under the lock, only the templates a gallery
applied after the commit's search outside it; when it no longer keeps them all, it says so
(the commit then searches the whole gallery)."""

from __future__ import annotations

from collections import deque

from sqlalchemy import update

from biometrics import feed
from biometrics.gallery import FaceGallery
from biometrics.models import Biometric
from fixtures.gallery_seed import seed_face_gallery
from registry.models import utcnow


def test_since_holds_only_newer_live_templates(runtime, session):
    gallery = FaceGallery()
    seed_face_gallery(session, runtime.vault, 3, seed=51)
    gallery.catch_up(session, runtime.vault)
    searched_at = gallery.generation
    assert len(gallery.since(searched_at).owner) == 0
    seed_face_gallery(session, runtime.vault, 2, seed=52)
    gallery.catch_up(session, runtime.vault)
    newer = gallery.since(searched_at)
    assert len(newer.owner) == 2 and set(newer.owner) < set(gallery.owner)
    assert len(gallery.since(0).owner) == 5
    # A newer template superseded before the lock is no longer searched.
    gone = max(newer.owner)
    session.execute(update(Biometric).where(Biometric.id == gone).values(
        superseded_at=utcnow()))
    feed.record_remove(session, [gone])
    session.commit()
    gallery.catch_up(session, runtime.vault)
    assert set(gallery.since(searched_at).owner) == set(newer.owner) - {gone}


def test_since_refuses_when_templates_were_dropped(runtime, session):
    gallery = FaceGallery()
    gallery._recent = deque(maxlen=2)
    seed_face_gallery(session, runtime.vault, 1, seed=53)
    gallery.catch_up(session, runtime.vault)
    searched_at = gallery.generation
    seed_face_gallery(session, runtime.vault, 3, seed=54)
    gallery.catch_up(session, runtime.vault)
    assert gallery.since(searched_at) is None  # 3 newer, 2 kept: search everything
    assert gallery.since(gallery.generation) is not None

