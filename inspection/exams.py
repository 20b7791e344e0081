"""Exam-site identity checks: is the person at the door the registered candidate, and is
anyone else enrolled who looks like them (a stand-in sitting under another name)?"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from biometrics.gallery import FaceGallery
from biometrics.probes import face_probe, score
from inspection.models import ExamCandidate, ExamCheck, ExamResult, ExamSession
from registry import audit, guards, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound


def create(*, db_session: Session, actor: Actor, name: str, site: str, district: str,
           exam_date: dt.date) -> ExamSession:
    """Create an exam session."""
    policy.require_writable(actor, district)
    row = ExamSession(name=name, site=site, district=district, exam_date=exam_date,
                      created_by=actor.key_id)
    db_session.add(row)
    db_session.flush()
    audit.record(db_session, actor, "exam.create", resource_type="exam", resource_id=row.id,
                 district=district)
    db_session.commit()
    return row


def get(db_session: Session, actor: Actor, exam_id: int) -> ExamSession:
    """Return an exam session in the caller's scope."""
    row = db_session.get(ExamSession, exam_id)
    if row is None:
        raise NotFound(f"exam {exam_id} not found")
    policy.require_visible(actor, row.district, missing=f"exam {exam_id} not found")
    return row


def register(*, db_session: Session, actor: Actor, exam_id: int,
             guard_ids: list[int]) -> list[int]:
    """Register guards as candidates (idempotent); return the exam's candidate ids."""
    exam = get(db_session, actor, exam_id)
    have = set(db_session.scalars(select(ExamCandidate.guard_id).where(
        ExamCandidate.exam_id == exam_id)))
    for gid in sorted(set(guard_ids) - have):
        guards.get(db_session=db_session, actor=actor, guard_id=gid)
        db_session.add(ExamCandidate(exam_id=exam_id, guard_id=gid))
    try:
        db_session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same guard
        raise Conflict("a candidate was registered concurrently; retry") from exc
    audit.record(db_session, actor, "exam.register", resource_type="exam", resource_id=exam_id,
                 detail={"guards": sorted(set(guard_ids) - have)}, district=exam.district)
    db_session.commit()
    return sorted(have | set(guard_ids))


def check(*, db_session: Session, vault: Vault, actor: Actor, engine, gallery: FaceGallery,  # noqa: ANN001
          exam_id: int, guard_id: int, image: bytes, verify_threshold: float,
          duplicate_threshold: float, max_bytes: int, max_pixels: int) -> ExamCheck:
    """Check the person at the door against the candidate (1:1) and everyone else (1:N)."""
    exam = get(db_session, actor, exam_id)
    if db_session.scalar(select(ExamCandidate.id).where(
            ExamCandidate.exam_id == exam.id, ExamCandidate.guard_id == guard_id)) is None:
        raise NotFound(f"guard {guard_id} is not registered for exam {exam_id}")
    probe = face_probe(engine, image, max_bytes=max_bytes, max_pixels=max_pixels)
    own = score(db_session, vault, guard_id, probe)
    gallery.catch_up(db_session, vault)
    others = [{"guard_id": h.guard_id, "score": round(h.score, 4)} for h in gallery.search(
        probe.template.vector, threshold=duplicate_threshold, exclude_guard=guard_id)]
    if others:
        result = ExamResult.stand_in
    elif own is None:
        result = ExamResult.not_enrolled
    else:
        result = ExamResult.passed if own >= verify_threshold else ExamResult.mismatch
    row = ExamCheck(exam_id=exam.id, guard_id=guard_id, result=result,
                    face_score=None if own is None else round(own, 4),
                    probe_quality=probe.quality, others=json.dumps(others),
                    station=actor.key_id)
    db_session.add(row)
    db_session.flush()
    audit.record(db_session, actor, "exam.check", resource_type="guard", resource_id=guard_id,
                 detail={"exam": exam.id, "result": result.value, "others": others},
                 district=policy.entry_district(exam.district, *policy.guard_districts(
                     db_session, [guard_id, *(o["guard_id"] for o in others)]).values()))
    db_session.commit()
    return row


def summary(*, db_session: Session, actor: Actor, exam_id: int) -> dict:
    """Return the exam with every candidate's latest check and counts by result."""
    exam = get(db_session, actor, exam_id)
    latest = select(ExamCheck.guard_id, func.max(ExamCheck.id).label("last")).where(
        ExamCheck.exam_id == exam_id).group_by(ExamCheck.guard_id).subquery()
    checks = {c.guard_id: c for c in db_session.scalars(
        select(ExamCheck).join(latest, ExamCheck.id == latest.c.last))}
    candidates = []
    for gid in db_session.scalars(select(ExamCandidate.guard_id).where(
            ExamCandidate.exam_id == exam_id).order_by(ExamCandidate.guard_id)):
        c = checks.get(gid)
        candidates.append({"guard_id": gid, "result": c.result.value if c else "unchecked",
                           "face_score": c.face_score if c else None,
                           "others": visible_others(db_session, actor, c.others) if c else [],
                           "checked_at": c.at if c else None})
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c["result"]] = counts.get(c["result"], 0) + 1
    audit.record(db_session, actor, "exam.read", resource_type="exam", resource_id=exam.id,
                 district=exam.district)
    db_session.commit()
    return {"id": exam.id, "name": exam.name, "site": exam.site, "district": exam.district,
            "exam_date": exam.exam_date, "counts": counts, "candidates": candidates}


def visible_others(db_session: Session, actor: Actor, others: str) -> list[dict]:
    """Return a door check's 1:N hits; another district's guard shows only as 'elsewhere'.

    The stand-in search is city-wide; a scoped reader learns that someone enrolled
    elsewhere matched, never who or how closely.
    """
    found = json.loads(others)
    known = policy.guard_districts(db_session, [o["guard_id"] for o in found])
    return [o if policy.visible(actor, known.get(o["guard_id"])) else {"elsewhere": True}
            for o in found]
