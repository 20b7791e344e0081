"""Reading the audit log: a page of entries in the reader's reach (the read itself audited)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import audit, policy
from registry.audit import Actor
from registry.models import AuditEntry


def entries(*, db_session: Session, actor: Actor, action: str | None = None,
            resource_type: str | None = None, resource_id: str | None = None,
            offset: int = 0, limit: int = 100) -> list[AuditEntry]:
    """Return audit entries, newest first in the order they were written (a scoped auditor:
    only those about its district); the read is audited."""
    query = policy.scope_query(actor, select(AuditEntry), AuditEntry.district)
    if action:
        query = query.where(AuditEntry.action == action)
    if resource_type:
        query = query.where(AuditEntry.resource_type == resource_type)
    if resource_id:
        query = query.where(AuditEntry.resource_id == resource_id)
    rows = list(db_session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset)
                                   .limit(limit)))
    audit.record(db_session, actor, "audit.read", detail={"count": len(rows)},
                 district=actor.district)
    db_session.commit()
    return rows
