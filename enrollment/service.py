"""The station workflow: open a session, submit captures, commit with 1:N de-duplication."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import NoReturn

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from biometrics import writer
from biometrics.models import FACE_POSITION, Modality
from biometrics.purposes import FACE_IMAGE_PURPOSE, FACE_TEMPLATE_PURPOSE
from enrollment import dedup, expiry, idempotency
from enrollment.dedup import Galleries
from enrollment.exceptions import SessionClosed, TooManyAttempts
from enrollment.idempotency import IdempotencyKey
from enrollment.models import (
    Capture,
    EnrollmentSession,
    ExceptionStatus,
    FingerException,
    ReviewCase,
    SessionStatus,
)
from enrollment.schemas import CaptureOut, CommitOut, SessionIn, SessionOut
from matching.face import FaceEngine
from matching.imageio import decode
from registry import audit, guards, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound, RegisteredElsewhere
from registry.models import Guard, utcnow

# Best of at most this many attempts per position is kept (the operator recaptures on a
# failed verdict; a fourth try means something else is wrong).
MAX_ATTEMPTS = 3
# PostgreSQL advisory-lock key serialising enrolment commits (any constant unique in guardid).
COMMIT_LOCK = 0x6775_6172_6431


def _session(db_session: Session, actor: Actor, session_id: int, *,
             open_only: bool = True, ttl_h: float | None = None) -> EnrollmentSession:
    """Return the session, checking the caller's district; optionally only while open
    (and, given ``ttl_h``, not stale: a stale one is expired and refused)."""
    row = db_session.get(EnrollmentSession, session_id)
    if row is None or not policy.visible(actor, _district(db_session, row.guard_id)):
        raise NotFound(f"enrollment session {session_id} not found")
    expiry.check(db_session, actor, row, ttl_h)
    if open_only and row.status != SessionStatus.open:
        raise SessionClosed(f"session {session_id} is {row.status.value}")
    return row


def _district(db_session: Session, guard_id: int) -> str | None:
    """Return the district of a guard (the home of its sessions, captures and exceptions)."""
    return policy.guard_districts(db_session, [guard_id]).get(guard_id)


def read(*, db_session: Session, actor: Actor, session_id: int,
         ttl_h: float | None = None) -> SessionOut:
    """Return a session with its captures' verdicts (a stale one expired first, given
    ``ttl_h``); the read is audited."""
    row = _session(db_session, actor, session_id, open_only=False)
    expiry.expire_if_stale(db_session, actor, row, ttl_h)  # shown as it now is: expired
    out = to_out(db_session, row)
    audit.record(db_session, actor, "enrollment.read", resource_type="guard",
                 resource_id=row.guard_id, detail={"session": row.id},
                 district=_district(db_session, row.guard_id))
    db_session.commit()
    return out


def to_out(db_session: Session, row: EnrollmentSession) -> SessionOut:
    """Return the API view of a session with its captures."""
    caps = db_session.scalars(select(Capture).where(Capture.session_id == row.id)
                              .order_by(Capture.id)).all()
    return SessionOut(id=row.id, guard_id=row.guard_id, status=row.status, station=row.station,
                      opened_at=row.opened_at, closed_at=row.closed_at,
                      captures=[_capture_out(c) for c in caps])


def _capture_out(c: Capture) -> CaptureOut:
    """Return the API view of one capture."""
    verdict = json.loads(c.verdict)
    return CaptureOut(id=c.id, modality=c.modality, position=c.position, attempt=c.attempt,
                      passed=c.passed, quality=c.quality, reasons=verdict["reasons"],
                      measures=verdict["measures"])


def open_session(*, db_session: Session, vault: Vault, actor: Actor, data: SessionIn,
                 idem: IdempotencyKey | None = None) -> SessionOut:
    """Open a session for an existing guard, or one registered now from the ID document.

    Two stations registering the same ID number at once get the same guard.
    """
    guard_id = data.guard_id
    if guard_id is None:
        try:
            guard_id = guards.create(db_session=db_session, vault=vault, actor=actor,
                                     data=data.guard, commit=False).id
        except RegisteredElsewhere as exc:  # refused without naming the holder
            _refer(db_session, actor, exc)
        except Conflict:
            db_session.rollback()
            guard_id = _holder(db_session, vault, actor, data.guard.id_number)
    guards.get(db_session=db_session, actor=actor, guard_id=guard_id)
    row = EnrollmentSession(guard_id=guard_id, station=actor.key_id)
    db_session.add(row)
    db_session.flush()
    audit.record(db_session, actor, "enrollment.open", resource_type="guard",
                 resource_id=guard_id, detail={"session": row.id},
                 district=_district(db_session, guard_id))
    out = to_out(db_session, row)
    idempotency.remember(db_session, idem, out.model_dump(mode="json"))
    db_session.commit()
    return out


def _refer(db_session: Session, actor: Actor, exc: RegisteredElsewhere) -> NoReturn:
    """Commit the city-level referral of ``exc`` on its own, then raise it."""
    db_session.rollback()
    guards.refer(db_session, actor, exc)
    db_session.commit()
    raise exc


def _holder(db_session: Session, vault: Vault, actor: Actor, id_number: str) -> int:
    """Return the guard a concurrent registration created; refer it when in another district."""
    hashed = guards.id_hash(vault, id_number)
    holder = db_session.execute(select(Guard.id, Guard.district)
                                .where(Guard.id_hash == hashed)).one()
    if actor.district is not None and holder.district != actor.district:
        _refer(db_session, actor, RegisteredElsewhere(
            "this ID number cannot be registered from this district; the case was referred to "
            "the city level", holder_id=holder.id, district=actor.district))
    return holder.id


def submit_face(*, db_session: Session, vault: Vault, actor: Actor, engine: FaceEngine,
                session_id: int, image: bytes, max_bytes: int, max_pixels: int,
                idem: IdempotencyKey | None = None, ttl_h: float | None = None) -> CaptureOut:
    """Check one face photo and keep it with its verdict; return the verdict at once."""
    row = _session(db_session, actor, session_id, ttl_h=ttl_h)
    attempts = db_session.scalar(select(func.count()).select_from(Capture).where(
        Capture.session_id == row.id, Capture.modality == Modality.face)) or 0
    if attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts(f"the face already has {MAX_ATTEMPTS} attempts in this session")
    pixels = decode(image, max_bytes=max_bytes, max_pixels=max_pixels).pixels
    result = engine.analyze(pixels)
    template = result.template
    capture = Capture(
        session_id=row.id, modality=Modality.face, position=FACE_POSITION, attempt=attempts + 1,
        passed=template is not None, quality=template.quality if template else 0.0,
        verdict=json.dumps({"reasons": [asdict(r) for r in result.verdict.reasons],
                            "measures": result.verdict.measures}),
        template_enc=vault.encrypt(db_session, template.to_bytes(),
                                   purpose=FACE_TEMPLATE_PURPOSE) if template else None,
        image_enc=vault.encrypt(db_session, image, purpose=FACE_IMAGE_PURPOSE),
        model_id=template.model_id if template else None)
    db_session.add(capture)
    db_session.flush()
    audit.record(db_session, actor, "enrollment.face", resource_type="guard",
                 resource_id=row.guard_id, detail={"session": row.id, "passed": capture.passed},
                 district=_district(db_session, row.guard_id))
    out = _capture_out(capture)
    idempotency.remember(db_session, idem, out.model_dump(mode="json"))
    db_session.commit()
    return out


def abandon(*, db_session: Session, actor: Actor, session_id: int,
            reason: str | None = None) -> SessionOut:
    """Close an open session without enrolling (a refused or given-up station visit).

    Abandoning an already abandoned session answers it unchanged, so a station may repeat
    the call; a committed or reviewed session cannot be abandoned.
    """
    row = _session(db_session, actor, session_id, open_only=False)
    if row.status == SessionStatus.abandoned:
        return to_out(db_session, row)
    if row.status != SessionStatus.open:
        raise SessionClosed(f"session {session_id} is {row.status.value}")
    row.status, row.closed_at = SessionStatus.abandoned, utcnow()
    audit.record(db_session, actor, "enrollment.abandon", resource_type="guard",
                 resource_id=row.guard_id, detail={"session": row.id, "reason": reason},
                 district=_district(db_session, row.guard_id))
    db_session.commit()
    return to_out(db_session, row)


def request_finger_exception(*, db_session: Session, actor: Actor, session_id: int,
                             position: int, reason_code: str, reason: str | None,
                             ttl_h: float | None = None) -> FingerException:
    """Record a finger that cannot be captured; a supervisor approves or rejects it (a
    stale session, given ``ttl_h``, is expired and refused like any write to it)."""
    row = _session(db_session, actor, session_id, ttl_h=ttl_h)
    exc = FingerException(guard_id=row.guard_id, position=position, reason_code=reason_code,
                          reason=reason, requested_by=actor.key_id)
    db_session.add(exc)
    db_session.flush()
    audit.record(db_session, actor, "enrollment.finger_exception", resource_type="guard",
                 resource_id=row.guard_id, detail={"position": position, "reason": reason_code},
                 district=_district(db_session, row.guard_id))
    db_session.commit()
    return exc


def decide_finger_exception(*, db_session: Session, actor: Actor, exception_id: int,
                            approve: bool) -> FingerException:
    """Approve or reject a pending finger exception."""
    exc = db_session.get(FingerException, exception_id)
    if exc is None or not policy.visible(actor, _district(db_session, exc.guard_id)):
        raise NotFound(f"finger exception {exception_id} not found")
    if exc.status != ExceptionStatus.pending:
        raise Conflict(f"finger exception {exception_id} is already {exc.status.value}")
    exc.status = ExceptionStatus.approved if approve else ExceptionStatus.rejected
    exc.decided_by, exc.decided_at = actor.key_id, utcnow()
    audit.record(db_session, actor, "enrollment.finger_exception_decided",
                 resource_type="guard", resource_id=exc.guard_id,
                 detail={"exception": exc.id, "status": exc.status.value},
                 district=_district(db_session, exc.guard_id))
    db_session.commit()
    return exc


def commit(*, db_session: Session, vault: Vault, actor: Actor, galleries: Galleries,
           session_id: int, idem: IdempotencyKey | None = None,
           ttl_h: float | None = None) -> CommitOut:
    """De-duplicate 1:N, then store the templates in one transaction (or open a review)."""
    row = _session(db_session, actor, session_id, open_only=False, ttl_h=ttl_h)
    if row.status != SessionStatus.open:
        return CommitOut(session_id=row.id, guard_id=row.guard_id, status=row.status)
    face = dedup.best_face(db_session, row.id)
    fingers = dedup.best_fingers(db_session, row.id)
    dedup.check_fingers(db_session, row.guard_id, fingers, galleries.min_fingers)
    # The slow 1:N search of the whole galleries runs outside the lock; under it, one commit
    # at a time catches up and searches only what was applied since, then writes, so two
    # stations enrolling one person under two names at the same instant cannot both pass
    # de-duplication. SQLite already serialises writers (BEGIN IMMEDIATE); PostgreSQL
    # takes a transaction lock.
    bulk = dedup.search_bulk(db_session, vault, galleries, row.guard_id, face, fingers)
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": COMMIT_LOCK})
        db_session.refresh(row)
        if row.status != SessionStatus.open:
            return CommitOut(session_id=row.id, guard_id=row.guard_id, status=row.status)
        face = dedup.best_face(db_session, row.id)
        fingers = dedup.best_fingers(db_session, row.id)
    found = dedup.candidates_since(db_session, vault, galleries, row.guard_id, face, fingers,
                                   bulk)
    if found:
        case = ReviewCase(session_id=row.id, guard_id=row.guard_id,
                          candidates=json.dumps(found))
        db_session.add(case)
        row.status = SessionStatus.review
        db_session.flush()
        audit.record(db_session, actor, "enrollment.duplicate_suspected", resource_type="guard",
                     resource_id=row.guard_id, detail={"case": case.id, "candidates": found},
                     district=policy.entry_district(*case_districts(db_session, case)))
        # The search is city-wide; the answer names only candidates the caller may see.
        out = CommitOut(session_id=row.id, guard_id=row.guard_id, status=row.status,
                        review_case_id=case.id, candidates=visible_candidates(
                            db_session, actor, found))
    else:
        _store(db_session, actor, row, face, fingers)
        out = CommitOut(session_id=row.id, guard_id=row.guard_id, status=row.status)
    idempotency.remember(db_session, idem, out.model_dump(mode="json"))
    db_session.commit()
    galleries.face.catch_up(db_session, vault)  # the indexes follow the committed truth
    galleries.finger.catch_up(db_session, vault)
    return out


def _store(db_session: Session, actor: Actor, row: EnrollmentSession, face: Capture,
           fingers: dict[int, Capture]) -> None:
    """Write the biometric rows and their change records; supersede earlier ones."""
    now = utcnow()
    replaced = writer.supersede(db_session, row.guard_id, Modality.face, None, now)
    replaced += writer.supersede(db_session, row.guard_id, Modality.finger, set(fingers), now)
    stored = writer.store(db_session, guard_id=row.guard_id, enrollment_id=row.id,
                          station=row.station, now=now, templates=[
                              writer.NewTemplate(cap.modality, cap.position, cap.template_enc,
                                                 cap.quality, cap.model_id, cap.image_enc)
                              for cap in [face, *(fingers[p] for p in sorted(fingers))]])
    row.status, row.closed_at = SessionStatus.committed, now
    audit.record(db_session, actor, "enrollment.commit", resource_type="guard",
                 resource_id=row.guard_id, detail={"session": row.id, "stored": stored,
                                                   "fingers": sorted(fingers),
                                                   "superseded": replaced},
                 district=_district(db_session, row.guard_id))


def case_districts(db_session: Session, case: ReviewCase) -> list[str | None]:
    """Return the district of every guard a review case involves (subject and candidates)."""
    ids = [case.guard_id, *(c["guard_id"] for c in json.loads(case.candidates))]
    known = policy.guard_districts(db_session, ids)
    return [known.get(g) for g in ids]


def visible_candidates(db_session: Session, actor: Actor, found: list[dict]) -> list[dict]:
    """Return the de-duplication candidates the caller may see (own district, or all)."""
    known = policy.guard_districts(db_session, [c["guard_id"] for c in found])
    return [c for c in found if policy.visible(actor, known.get(c["guard_id"]))]
