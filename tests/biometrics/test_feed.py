"""The change feed skips nothing: a change a slow transaction commits after a later one is
still applied, and only ``biometrics/feed.py`` writes change rows.

The races are interleaved explicitly: writer A inserts its change and holds its transaction
open while writer B commits and a gallery catches up, then A commits (no sleeps, no threads).
Those need two concurrent writers, so they run on PostgreSQL only: SQLite has one writer at a
time (BEGIN IMMEDIATE), so there a change is visible in the order of its seq. The rest run on
both databases.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event, func, select

from biometrics import feed
from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.models import FACE_POSITION, Biometric, Modality
from biometrics.purposes import (
    FACE_TEMPLATE_PURPOSE,
    FINGER_IMAGE_PURPOSE,
    FINGER_TEMPLATE_PURPOSE,
)
from biometrics.reextract import reextract_fingers
from enrollment.dedup import Galleries
from enrollment.models import Capture, EnrollmentSession, ReviewCase, SessionStatus
from enrollment.review import resolve_review
from fixtures.gallery_seed import seed_face_gallery
from matching.face import FaceTemplate
from matching.finger import MODEL_ID, FingerprintTemplate, decode_fingerprint
from registry.audit import Actor
from registry.models import utcnow
from tests.enrollment.conftest import finger_png

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor(key_id="feed-test", role="admin")
IMAGE_LIMIT = 10**7
# Any construction of a change row: the ORM class, a Core insert, or raw SQL.
WRITES = re.compile(r"(?<!class )TemplateChange\s*\(|insert\(\s*TemplateChange"
                    r"|TemplateChange\.__table__|insert\s+into\s+template_changes", re.IGNORECASE)


def _needs_two_writers(runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("two concurrent writers need PostgreSQL (SQLite serialises writers, so "
                    "its changes become visible in seq order)")


def _face(runtime, session, guard_id: int, seed: int) -> int:
    """Store one synthetic face for ``guard_id`` through the feed, uncommitted; return its id."""
    vector = np.random.default_rng(seed).standard_normal(128)
    raw = FaceTemplate.from_embedding(vector / np.linalg.norm(vector), quality=80.0).to_bytes()
    bio = Biometric(guard_id=guard_id, modality=Modality.face, position=FACE_POSITION,
                    template_enc=runtime.vault.encrypt(session, raw,
                                                       purpose=FACE_TEMPLATE_PURPOSE),
                    quality=80.0, model_id="dlib_resnet_v1", station="test")
    session.add(bio)
    session.flush()
    feed.record_add(session, [bio.id])
    return bio.id


def _live_faces(session) -> int:
    return session.scalar(select(func.count()).select_from(Biometric).where(
        Biometric.modality == Modality.face, Biometric.superseded_at.is_(None)))


def _once(session, action) -> None:
    """Run ``action`` the first time ``session`` commits, before its commit goes through."""
    done = []

    def hook(_session) -> None:  # noqa: ANN001
        if not done:
            done.append(True)
            action()

    event.listen(session, "before_commit", hook)


def test_a_change_committed_after_a_later_one_is_not_skipped(runtime):
    """The issue's reproduction: A holds seq n, B commits n+1, catch-up, A commits."""
    _needs_two_writers(runtime)
    gallery = FaceGallery()
    with runtime.sessions() as setup:
        seed_face_gallery(setup, runtime.vault, 3, seed=11)
        gallery.catch_up(setup, runtime.vault)
    with runtime.sessions() as a, runtime.sessions() as b:
        held = _face(runtime, a, 1, seed=1)  # A's change row is in, A's transaction open
        late = _face(runtime, b, 2, seed=2)
        b.commit()
        assert gallery.catch_up(b, runtime.vault) == 1  # B's change; A's is not visible yet
        a.commit()
        assert gallery.catch_up(a, runtime.vault) == 1  # A's change, read although older
        assert gallery.catch_up(a, runtime.vault) == 0  # and applied once
        assert gallery.index.contains(held) and gallery.index.contains(late)
        assert gallery.owner[held] == 1
        assert len(gallery.index) == _live_faces(a) == 5


def test_resolving_a_review_while_another_commit_lands_loses_nothing(runtime):
    """resolve_review writes outside the commit lock; a commit between its insert and its
    commit (with a catch-up) must not hide the guard it enrols."""
    _needs_two_writers(runtime)
    galleries = Galleries(face=FaceGallery(), finger=FingerGallery(runtime.finger_engine),
                          face_threshold=0.9, finger_threshold=0.9)
    with runtime.sessions() as setup:
        seed_face_gallery(setup, runtime.vault, 2, seed=12)
        case_id = _open_review(runtime, setup, guard_id=1)

    def another_commit() -> None:
        with runtime.sessions() as b:
            seed_face_gallery(b, runtime.vault, 1, seed=13)  # commits guard 3's face
            galleries.face.catch_up(b, runtime.vault)

    with runtime.sessions() as a:
        _once(a, another_commit)
        resolve_review(db_session=a, vault=runtime.vault, actor=ADMIN, galleries=galleries,
                       case_id=case_id, same_person=False, note=None)
        stored = a.scalar(select(Biometric.id).where(
            Biometric.enrollment_id.is_not(None), Biometric.guard_id == 1))
        galleries.face.catch_up(a, runtime.vault)
        assert galleries.face.index.contains(stored) and galleries.face.owner[stored] == 1
        assert len(galleries.face.index) == _live_faces(a) == 3  # guard 1's seeded face left


def _open_review(runtime, session, guard_id: int) -> int:
    """Return the id of an open review case for a new face capture of ``guard_id``."""
    row = EnrollmentSession(guard_id=guard_id, station="test", status=SessionStatus.review)
    session.add(row)
    session.flush()
    vector = np.random.default_rng(99).standard_normal(128)
    raw = FaceTemplate.from_embedding(vector / np.linalg.norm(vector), quality=90.0).to_bytes()
    session.add(Capture(session_id=row.id, modality=Modality.face, position=FACE_POSITION,
                        attempt=1, passed=True, quality=90.0, verdict="{}",
                        template_enc=runtime.vault.encrypt(session, raw,
                                                           purpose=FACE_TEMPLATE_PURPOSE),
                        image_enc=runtime.vault.encrypt(session, b"jpeg", purpose="x"),
                        model_id="dlib_resnet_v1"))
    case = ReviewCase(session_id=row.id, guard_id=guard_id, candidates="[]")
    session.add(case)
    session.commit()
    return case.id


def test_reextracting_while_another_commit_lands_loses_nothing(runtime):
    """finger reextract commits in batches outside the commit lock; a commit landing inside a
    batch (with a catch-up) must not leave the gallery on the old template."""
    _needs_two_writers(runtime)
    gallery = FingerGallery(runtime.finger_engine)
    png = finger_png(10_000 + 10 * 71 + 2, 1)
    new = runtime.finger_engine.extract(decode_fingerprint(
        png, max_bytes=IMAGE_LIMIT, max_pixels=IMAGE_LIMIT), position=2)
    old = FingerprintTemplate(new.minutiae[:5], new.width, new.height, 1.0, "guardid_mcc_v1",
                              new.position)
    with runtime.sessions() as setup:
        seed_face_gallery(setup, runtime.vault, 1, seed=14)
        bio = Biometric(guard_id=1, modality=Modality.finger, position=2,
                        template_enc=runtime.vault.encrypt(setup, old.to_bytes(),
                                                           purpose=FINGER_TEMPLATE_PURPOSE),
                        image_enc=runtime.vault.encrypt(setup, png,
                                                        purpose=FINGER_IMAGE_PURPOSE),
                        quality=1.0, model_id=old.model_id, station="test")
        setup.add(bio)
        setup.flush()
        feed.record_add(setup, [bio.id])
        setup.commit()
        gallery.catch_up(setup, runtime.vault)
    assert gallery.index.templates[bio.id].model_id == old.model_id

    def another_commit() -> None:
        with runtime.sessions() as b:
            seed_face_gallery(b, runtime.vault, 1, seed=15, fingers=[old])  # two fingers
            gallery.catch_up(b, runtime.vault)

    with runtime.sessions() as a:
        _once(a, another_commit)
        report = reextract_fingers(db_session=a, vault=runtime.vault,
                                   engine=runtime.finger_engine, actor=ADMIN,
                                   max_bytes=IMAGE_LIMIT, max_pixels=IMAGE_LIMIT)
        assert report.reextracted == 1 and not report.failed
        gallery.catch_up(a, runtime.vault)
    assert gallery.index.templates[bio.id].model_id == MODEL_ID
    assert gallery.index.templates[bio.id].to_bytes() == new.to_bytes()
    assert len(gallery.index) == 3


def test_an_add_logged_after_the_supersede_does_not_bring_a_template_back(runtime):
    """A re-extract that lands on a biometric a commit has just superseded logs its add after
    the remove; the gallery follows the biometric's state, not the order of the ops."""
    gallery = FaceGallery()
    with runtime.sessions() as s:
        seed_face_gallery(s, runtime.vault, 1, seed=16)
        bio_id = _face(runtime, s, 1, seed=3)
        s.commit()
        gallery.catch_up(s, runtime.vault)
        assert gallery.index.contains(bio_id)
        s.get(Biometric, bio_id).superseded_at = utcnow()
        feed.record_remove(s, [bio_id])
        feed.record_add(s, [bio_id])  # the re-extract's change, behind the supersede's
        s.commit()
        gallery.catch_up(s, runtime.vault)
        assert not gallery.index.contains(bio_id) and bio_id not in gallery.owner
        assert len(gallery.index) == _live_faces(s) == 1


def test_only_the_feed_module_writes_change_rows():
    """Every writer goes through biometrics/feed.py (its ChangeOp, its xid handling)."""
    here = Path(__file__).resolve()
    allowed = {ROOT / "biometrics" / "feed.py", here}
    offenders = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                      for m in WRITES.finditer(text)]
    assert offenders == []
