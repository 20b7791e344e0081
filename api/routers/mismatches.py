"""Suspected biometric mismatches: the supervisor's queue, the evidence, the decision."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Limit, Offset, SessionDep, VaultDep, role_dep
from enrollment.review import media_type
from inspection import mismatches
from inspection.models import MismatchStatus
from inspection.schemas import MismatchDecisionIn, MismatchOut, MismatchPage
from registry.fieldtypes import DbId
from registry.models import Role

router = APIRouter(tags=["inspection"])
Supervisor = role_dep(Role.admin, Role.police)


@router.get("/mismatches", response_model=MismatchPage)
def list_mismatches(session: SessionDep, actor: Supervisor, offset: Offset = 0,
                    limit: Limit = 50, district: str | None = None,
                    status: MismatchStatus | None = None):
    """Suspected mismatches waiting for a decision (or those of ``status``), oldest first."""
    rows, total = mismatches.list_page(db_session=session, actor=actor, district=district,
                                       status=status, offset=offset, limit=limit)
    return {"total": total, "items": [mismatches.to_out(session, c) for c in rows]}


@router.get("/mismatches/{case_id}", response_model=MismatchOut)
def get_mismatch(case_id: DbId, session: SessionDep, actor: Supervisor):
    """One mismatch case with its evidence."""
    case = mismatches.get(db_session=session, actor=actor, case_id=case_id)
    return mismatches.to_out(session, case)


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
    return mismatches.to_out(session, case)
