"""The audit log: read it and verify its hash chain (auditors only)."""

from __future__ import annotations

import json

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import Auditor, Limit, Offset, SessionDep
from registry import audit
from registry.fieldtypes import UtcOutput
from registry.models import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    """One audit entry."""

    seq: int
    at: UtcOutput
    actor: str
    role: str
    action: str
    resource_type: str | None
    resource_id: str | None
    client: str | None
    detail: dict
    hash: str


class VerifyOut(BaseModel):
    """Result of verifying the chain."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problems: list[dict]


@router.get("", response_model=list[AuditEntryOut])
def list_audit(session: SessionDep, actor: Auditor, action: str | None = None,
               resource_type: str | None = None, resource_id: str | None = None,
               offset: Offset = 0, limit: Limit = 100):
    """Return audit entries, newest first."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if resource_type:
        query = query.where(AuditEntry.resource_type == resource_type)
    if resource_id:
        query = query.where(AuditEntry.resource_id == resource_id)
    rows = session.scalars(query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)).all()
    out = [AuditEntryOut(seq=r.seq, at=r.at, actor=r.actor, role=r.role, action=r.action,
                         resource_type=r.resource_type, resource_id=r.resource_id,
                         client=r.client, detail=json.loads(r.detail), hash=r.hash) for r in rows]
    audit.record(session, actor, "audit.read", detail={"count": len(out)})
    session.commit()
    return out


@router.get("/verify", response_model=VerifyOut)
def verify_audit(session: SessionDep, actor: Auditor):
    """Verify the whole chain; any altered or deleted entry is listed."""
    report = audit.verify(session)
    seq, digest = audit.head(session)
    return VerifyOut(ok=report.ok, checked=report.checked, head_seq=seq, head_hash=digest,
                     problems=report.problems)
