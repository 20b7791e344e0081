"""The short de-duplication lock searches, under the lock, only the templates a gallery
applied after the commit's search outside it; when it no longer keeps them all, it says so
(the commit then searches the whole gallery)."""

from __future__ import annotations

from collections import deque

import pytest
from sqlalchemy import select, update

from biometrics import feed
from biometrics import gallery as gallery_module
from biometrics.gallery import FaceGallery, FingerGallery, FingerSet
from biometrics.models import Biometric
from fixtures.gallery_seed import seed_face_gallery
from fixtures.synthetic_fingers import impression, master_print
from matching.finger import FingerprintEngine
from matching.finger.engine import Matcher
from registry.models import utcnow

# searched again on the Milvus gallery backend (make test-milvus)
pytestmark = pytest.mark.gallery


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



def _fingers(n: int, base: int) -> list:
    engine = FingerprintEngine()
    return [engine.extract(impression(master_print(base + i), 1)) for i in range(n)]


def test_a_few_newer_fingers_are_compared_in_full(runtime, session):
    """Under the lock, the fingers applied since the search are each compared in full: the
    mate is found with the full-comparison score, the committing guard itself is left out."""
    gallery = FingerGallery()
    prints = _fingers(3, 71_000)
    seed_face_gallery(session, runtime.vault, 2, seed=55, fingers=prints[:1])
    gallery.catch_up(session, runtime.vault)
    searched_at = gallery.generation
    seed_face_gallery(session, runtime.vault, 2, seed=56, fingers=prints[1:])
    gallery.catch_up(session, runtime.vault)
    newer = gallery.since(searched_at)
    assert isinstance(newer, FingerSet) and len(newer.owner) == 4
    probe = FingerprintEngine().extract(impression(master_print(71_001), 2))
    hits = newer.search(probe, threshold=0.0)
    # Each newer guard holds a copy of prints[1] at position 2 (gallery_seed's round robin).
    mates = set(session.scalars(select(Biometric.id).where(
        Biometric.id.in_(list(newer.owner)), Biometric.position == 2)))
    assert len(mates) == 2 and {h.biometric_id for h in hits} == mates
    assert hits[0].score == pytest.approx(Matcher(probe).match(gallery.index.templates[
        hits[0].biometric_id]))
    assert all(h.guard_id != hits[0].guard_id
               for h in newer.search(probe, threshold=0.0, exclude_guard=hits[0].guard_id))


def test_many_newer_fingers_get_a_code_index(runtime, session, monkeypatch):
    monkeypatch.setattr(gallery_module, "NEWER_FINGERS_IN_FULL", 3)
    gallery = FingerGallery()
    gallery.catch_up(session, runtime.vault)
    searched_at = gallery.generation
    seed_face_gallery(session, runtime.vault, 2, seed=57, fingers=_fingers(2, 72_000))
    gallery.catch_up(session, runtime.vault)
    newer = gallery.since(searched_at)
    assert isinstance(newer, FingerGallery) and len(newer.owner) == 4
