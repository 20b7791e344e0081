"""Suspected biometric mismatches: the supervisor's queue, the evidence, the decision."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Limit, Offset, SessionDep, VaultDep, role_dep
from enrollment.review import media_type
from inspection import mismatches
from inspection.models import MismatchCase, MismatchStatus
from inspection.schemas import MismatchDecisionIn, MismatchOut, MismatchPage
from registry.fieldtypes import DbId, mark_utc
from registry.models import Role

router = APIRouter(tags=["inspection"])
Supervisor = role_dep(Role.admin, Role.police)


def _out(session, case: MismatchCase) -> MismatchOut:  # noqa: ANN001
    """Return a case with links to its probes and the enrolled images, side by side."""
    base = f"/mismatches/{case.id}/images"
    probes = [{"check_id": c.id, "attempt": c.attempt, "at": mark_utc(c.at),
               "face_score": c.face_score, "finger_score": c.finger_score,
               "face_quality": c.face_quality, "finger_quality": c.finger_quality,
               "image": f"{base}/probe/{c.id}" if c.probe_enc else None}
              for c in mismatches.attempts(session, case)]
    enrolled = [{"biometric_id": b.id, "modality": b.modality.value, "position": b.position,
                 "image": f"{base}/enrolled/{b.id}"} for b in mismatches.enrolled(session, case)]
    return MismatchOut(
        id=case.id, guard_id=case.guard_id, certificate_number=case.certificate_number,
        district=case.district, site=case.site, inspector=case.inspector,
        status=mismatches.state(case), attempts=case.attempts,
        max_attempts=mismatches.MAX_ATTEMPTS, opened_at=case.opened_at, due_at=case.due_at,
        decided_by=case.decided_by, decided_at=case.decided_at, reason=case.reason,
        violation_id=case.violation_id, probes=probes, enrolled=enrolled)


@router.get("/mismatches", response_model=MismatchPage)
def list_mismatches(session: SessionDep, actor: Supervisor, offset: Offset = 0,
                    limit: Limit = 50, district: str | None = None,
                    status: MismatchStatus | None = None):
    """Suspected mismatches waiting for a decision (or those of ``status``), oldest first."""
    rows, total = mismatches.list_page(db_session=session, actor=actor, district=district,
                                       status=status, offset=offset, limit=limit)
    return {"total": total, "items": [_out(session, c) for c in rows]}


@router.get("/mismatches/{case_id}", response_model=MismatchOut)
def get_mismatch(case_id: DbId, session: SessionDep, actor: Supervisor):
    """One mismatch case with its evidence."""
    return _out(session, mismatches.get(db_session=session, actor=actor, case_id=case_id))


@router.get("/mismatches/{case_id}/images/{kind}/{item_id}")
def mismatch_image(case_id: DbId, kind: Literal["probe", "enrolled"], item_id: DbId,
                   session: SessionDep, vault: VaultDep, actor: Supervisor) -> Response:
    """One evidence image: an attempt's probe or an enrolled biometric (decrypted, audited)."""
    data = mismatches.image(db_session=session, vault=vault, actor=actor, case_id=case_id,
                            kind=kind, item_id=item_id)
    return Response(data, media_type=media_type(data))  # no-store: every response


@router.post("/mismatches/{case_id}/decide", response_model=MismatchOut)
def decide(case_id: DbId, body: MismatchDecisionIn, session: SessionDep, actor: Supervisor):
    """Confirm (the impersonation is recorded and counted) or dismiss a suspected mismatch."""
    case = mismatches.decide(db_session=session, actor=actor, case_id=case_id,
                             confirm=body.decision == "confirm", reason=body.reason)
    return _out(session, case)
