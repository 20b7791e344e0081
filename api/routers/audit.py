"""The audit log: read it and verify its keyed hash chain and checkpoints (auditors only)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Auditor, Limit, Offset, RuntimeDep, SessionDep
from registry import audit_log
from registry.fieldtypes import UtcOutput

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    """One audit entry; ``seq`` and ``hash`` are null until it is sealed (about a second)."""

    id: int
    seq: int | None
    at: UtcOutput
    actor: str
    role: str
    action: str
    resource_type: str | None
    resource_id: str | None
    client: str | None
    district: str | None
    detail: dict
    hash: str | None


class VerifyOut(BaseModel):
    """Result of verifying the chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    unsealed: int
    problem_count: int
    problems: list[dict]


@router.get("", response_model=list[AuditEntryOut])
def list_audit(session: SessionDep, actor: Auditor, action: str | None = None,
               resource_type: str | None = None, resource_id: str | None = None,
               offset: Offset = 0, limit: Limit = 100):
    """Return audit entries, newest first in the order they were written (a scoped auditor:
    only those about its district)."""
    rows = audit_log.entries(db_session=session, actor=actor, action=action,
                             resource_type=resource_type, resource_id=resource_id,
                             offset=offset, limit=limit)
    return [AuditEntryOut(id=r.id, seq=r.seq, at=r.at, actor=r.actor, role=r.role, action=r.action,
                         resource_type=r.resource_type, resource_id=r.resource_id,
                         client=r.client, district=r.district, detail=json.loads(r.detail),
                         hash=r.hash) for r in rows]


@router.get("/verify", response_model=VerifyOut)
def verify_audit(runtime: RuntimeDep, actor: Auditor):
    """Seal, then verify the whole chain against the stored signed checkpoints; every altered,
    deleted or re-hashed entry and every cut-off tail a checkpoint covers is listed."""
    report = runtime.audit_trail.verify()
    return VerifyOut(ok=report.ok, checked=report.checked, head_seq=report.head_seq,
                     head_hash=report.head_hash, unsealed=report.unsealed,
                     problem_count=report.problem_count, problems=report.problems)
