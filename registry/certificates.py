"""Guard certificates: issue, look up, and status changes kept as events (never deleted)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit, canonical, guards, paging, policy
from registry.audit import Actor
from registry.exceptions import Conflict, InvalidTransition, NotFound
from registry.models import (
    Certificate,
    CertificateEvent,
    CertificateStatus,
    Guard,
    utcnow,
)
from registry.schemas import CertificateIn

# Which status each action leads to, and from which statuses it is allowed.
# Revocation is final: a revoked certificate is replaced by a new one, never reinstated.
TRANSITIONS: dict[str, tuple[CertificateStatus, frozenset[CertificateStatus]]] = {
    "suspend": (CertificateStatus.suspended, frozenset({CertificateStatus.valid})),
    "revoke": (CertificateStatus.revoked,
               frozenset({CertificateStatus.valid, CertificateStatus.suspended})),
    "reinstate": (CertificateStatus.valid, frozenset({CertificateStatus.suspended})),
}


def issue(*, db_session: Session, actor: Actor, data: CertificateIn) -> Certificate:
    """Issue a certificate to a guard and return it."""
    number = canonical.certificate_number(data.number)
    guard = guards.get(db_session=db_session, actor=actor, guard_id=data.guard_id)
    cert = Certificate(number=number, guard_id=data.guard_id, issue_date=data.issue_date,
                       status=CertificateStatus.valid, status_at=utcnow())
    db_session.add(cert)
    try:
        db_session.flush()
    except IntegrityError as exc:
        raise Conflict(f"certificate {number} already exists") from exc
    db_session.add(CertificateEvent(certificate_id=cert.id, event="issued", actor=actor.key_id))
    audit.record(db_session, actor, "certificate.issue", resource_type="certificate",
                 resource_id=cert.number, detail={"guard_id": cert.guard_id},
                 district=guard.district)
    db_session.commit()
    return cert


def get(*, db_session: Session, actor: Actor, number: str) -> Certificate:
    """Return the certificate ``number``; raise NotFound when absent or out of scope."""
    number = canonical.certificate_number(number)
    cert = db_session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    guard = db_session.get(Guard, cert.guard_id)
    policy.require_visible(actor, guard.district, missing=f"certificate {number} not found")
    return cert


def history(*, db_session: Session, actor: Actor, number: str) -> list[CertificateEvent]:
    """Return every status event of a certificate, oldest first."""
    cert = get(db_session=db_session, actor=actor, number=number)
    return list(db_session.scalars(select(CertificateEvent).where(
        CertificateEvent.certificate_id == cert.id).order_by(CertificateEvent.id)))


def change_status(*, db_session: Session, actor: Actor, number: str, action: str,
                  reason: str) -> Certificate:
    """Suspend, revoke or reinstate a certificate, recording the event and the reason."""
    target, allowed = TRANSITIONS[action]
    cert = get(db_session=db_session, actor=actor, number=number)
    if cert.status not in allowed:
        raise InvalidTransition(f"cannot {action} a certificate that is {cert.status.value}")
    cert.status, cert.status_reason, cert.status_at = target, reason, utcnow()
    db_session.add(CertificateEvent(certificate_id=cert.id, event=action, reason=reason,
                                    actor=actor.key_id))
    audit.record(db_session, actor, f"certificate.{action}", resource_type="certificate",
                 resource_id=number, detail={"reason": reason},
                 district=db_session.get(Guard, cert.guard_id).district)
    db_session.commit()
    return cert


def list_page(*, db_session: Session, actor: Actor, status: CertificateStatus | None = None,
              guard_id: int | None = None, district: str | None = None, offset: int = 0,
              limit: int = 50) -> tuple[list[Certificate], int]:
    """Return one page of certificates matching the filters, and the total."""
    query = policy.scope_query(actor, select(Certificate).join(
        Guard, Guard.id == Certificate.guard_id), Guard.district, district)
    if status:
        query = query.where(Certificate.status == status)
    if guard_id is not None:
        query = query.where(Certificate.guard_id == guard_id)
    return paging.page(db_session, query, Certificate.id, offset=offset, limit=limit)
