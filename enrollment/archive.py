"""The electronic practice archive (电子档案): everything on record about one guard."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import records
from enrollment.models import (
    Capture,
    EnrollmentSession,
    FingerException,
    ReviewCase,
)
from inspection.models import SpotCheck
from registry import audit, guards, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.models import ApiKey, Certificate, CertificateEvent, GuardEvent, Organisation
from violations.models import VIOLATION_COLUMN, Violation


def _rows(db_session: Session, query) -> list:  # noqa: ANN001
    return list(db_session.scalars(query))


def _review_cases(db_session: Session, actor: Actor, guard_id: int) -> list[dict]:
    """Return the review cases about the guard, naming only guards within the caller's reach."""
    out = []
    for c in _rows(db_session, select(ReviewCase).order_by(ReviewCase.id)):
        found = json.loads(c.candidates)
        if c.guard_id != guard_id and all(x["guard_id"] != guard_id for x in found):
            continue
        known = policy.guard_districts(db_session, [c.guard_id, *(x["guard_id"] for x in found)])
        out.append({"id": c.id, "status": c.status.value,
                    "subject": c.guard_id if policy.visible(actor, known.get(c.guard_id)) else None,
                    "candidates": [x for x in found
                                   if policy.visible(actor, known.get(x["guard_id"]))],
                    "resolved_at": c.resolved_at,
                    "suspected_identity_fraud": c.status.value == "same_person"})
    return out


def _names(db_session: Session, table, ids: set[int]) -> dict[int, str]:  # noqa: ANN001
    """Return {id: name} of the given rows of ``table`` (organisations)."""
    if not ids:
        return {}
    return dict(db_session.execute(select(table.id, table.name).where(table.id.in_(ids))).all())


def face_image(*, db_session: Session, vault: Vault, actor: Actor, guard_id: int) -> bytes | None:
    """Return the guard's current enrolled face image for the printed archive (decrypted,
    audited), or None when no face with an image is on file."""
    guard = guards.get(db_session=db_session, actor=actor, guard_id=guard_id)
    face = records.latest_face(db_session, guard_id)
    if face is None or face.image_enc is None:
        return None
    data = vault.decrypt(db_session, face.image_enc, purpose=records.image_purpose(face.modality))
    audit.record(db_session, actor, "guard.archive_photo_read", resource_type="guard",
                 resource_id=guard_id, detail={"biometric": face.id}, district=guard.district)
    db_session.commit()
    return data


def build(*, db_session: Session, vault: Vault, actor: Actor, guard_id: int) -> dict[str, Any]:
    """Return the guard's archive as one JSON-ready document; the read is audited.

    Records filed in another district (its checks, violations, its guards in a review case)
    are left out for a scoped reader.
    """
    guard = guards.get(db_session=db_session, actor=actor, guard_id=guard_id)
    certs = _rows(db_session, select(Certificate).where(Certificate.guard_id == guard_id))
    checks = policy.scope_query(actor, select(SpotCheck).where(SpotCheck.guard_id == guard_id),
                                SpotCheck.district)
    found = policy.scope_query(actor, select(Violation).where(Violation.guard_id == guard_id),
                               Violation.district)
    sessions = _rows(db_session, select(EnrollmentSession).where(
        EnrollmentSession.guard_id == guard_id).order_by(EnrollmentSession.id))
    events = _rows(db_session, select(GuardEvent).where(
        GuardEvent.guard_id == guard_id).order_by(GuardEvent.at, GuardEvent.id))
    orgs = _names(db_session, Organisation, {int(e.value) for e in events
                                             if e.kind == "employer_id" and e.value}
                  | ({guard.employer_id} if guard.employer_id else set()))
    keys = {k.id: k for k in _rows(db_session, select(ApiKey).where(
        ApiKey.id.in_({e.actor for e in events if e.actor})))}
    identity = guards.to_out(db_session, vault, guard).model_dump(mode="json")
    doc = {
        "identity": {**identity, "employer_name": orgs.get(guard.employer_id)},
        "history": [{"at": e.at, "field": e.kind, "value": e.value, "by": e.actor,
                     # for people: the employer's name, and who made the change
                     "value_name": orgs.get(int(e.value)) if e.kind == "employer_id"
                     and e.value else None,
                     "by_name": f"{keys[e.actor].name}（{keys[e.actor].role.value}）"
                     if e.actor in keys else e.actor}
                    for e in events],
        "certificates": [{"number": c.number, "issue_date": c.issue_date,
                          "status": c.status.value, "events": [
                              {"at": e.at, "event": e.event, "reason": e.reason}
                              for e in _rows(db_session, select(CertificateEvent).where(
                                  CertificateEvent.certificate_id == c.id)
                                  .order_by(CertificateEvent.id))]} for c in certs],
        "biometrics": [{"id": b.id, "modality": b.modality.value, "position": b.position,
                        "quality": b.quality, "model": b.model_id, "captured_at": b.captured_at,
                        "station": b.station, "session": b.enrollment_id,
                        "superseded_at": b.superseded_at}
                       for b in records.history(db_session, guard_id)],
        "finger_exceptions": [{"id": f.id, "position": f.position, "reason": f.reason_code,
                               "status": f.status.value, "decided_at": f.decided_at}
                              for f in _rows(db_session, select(FingerException).where(
                                  FingerException.guard_id == guard_id))],
        "enrollments": [{"session": s.id, "status": s.status.value, "station": s.station,
                         "opened_at": s.opened_at, "closed_at": s.closed_at,
                         "captures": [{"modality": c.modality.value, "position": c.position,
                                       "attempt": c.attempt, "passed": c.passed,
                                       "quality": c.quality, "at": c.created_at}
                                      for c in _rows(db_session, select(Capture).where(
                                          Capture.session_id == s.id).order_by(Capture.id))]}
                        for s in sessions],
        "review_cases": _review_cases(db_session, actor, guard_id),
        "spot_checks": [{"id": c.id, "at": c.at, "mode": c.mode.value, "site": c.site,
                         "outcome": c.outcome.value, "failed": json.loads(c.failed_checks),
                         "face_score": c.face_score, "finger_score": c.finger_score,
                         "inspector": c.inspector}
                        for c in _rows(db_session, checks.order_by(SpotCheck.id))],
        "violations": [{"id": v.id, "category": v.category.value,
                        "column": VIOLATION_COLUMN[v.category], "status": v.status.value,
                        "found_at": v.found_at, "site": v.site, "source": v.source.value}
                       for v in _rows(db_session, found.order_by(Violation.id))],
    }
    audit.record(db_session, actor, "guard.archive_read", resource_type="guard",
                 resource_id=guard_id, district=guard.district)
    db_session.commit()
    return json.loads(json.dumps(doc, default=str, ensure_ascii=False))
