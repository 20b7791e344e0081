"""Guard certificates: issue, look up, history, suspend / revoke / reinstate."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Admin, Limit, Offset, RegistryReader, SessionDep, role_dep
from registry import certificates
from registry.fieldtypes import DbId
from registry.models import CertificateStatus, Role
from registry.schemas import (
    CertificateEventOut,
    CertificateIn,
    CertificateOut,
    Page,
    StatusChange,
)

router = APIRouter(prefix="/certificates", tags=["certificates"])
# Suspension and revocation follow background checks, which the police run too.
StatusChanger = role_dep(Role.admin, Role.police)


@router.post("", status_code=201, response_model=CertificateOut)
def issue_certificate(body: CertificateIn, session: SessionDep, actor: Admin):
    """Issue a certificate to a guard."""
    return certificates.issue(db_session=session, actor=actor, data=body)


@router.get("", response_model=Page[CertificateOut])
def list_certificates(session: SessionDep, actor: RegistryReader,
                      status: CertificateStatus | None = None, guard_id: DbId | None = None,
                      district: str | None = None, offset: Offset = 0, limit: Limit = 50):
    """List certificates by status, guard or district."""
    items, total = certificates.list_page(db_session=session, actor=actor, status=status,
                                          guard_id=guard_id, district=district, offset=offset,
                                          limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/{number}", response_model=CertificateOut)
def get_certificate(number: str, session: SessionDep, actor: RegistryReader):
    """Return one certificate and its current status."""
    return certificates.get(db_session=session, actor=actor, number=number)


@router.get("/{number}/events", response_model=list[CertificateEventOut])
def certificate_events(number: str, session: SessionDep, actor: RegistryReader):
    """Return a certificate's status history."""
    return certificates.history(db_session=session, actor=actor, number=number)


@router.post("/{number}/{action}", response_model=CertificateOut)
def change_certificate_status(number: str, action: Literal["suspend", "revoke", "reinstate"],
                              body: StatusChange, session: SessionDep, actor: StatusChanger):
    """Suspend, revoke (final) or reinstate a certificate, with a reason."""
    return certificates.change_status(db_session=session, actor=actor, number=number,
                                      action=action, reason=body.reason)
