"""Organisations that employ guards: create, read, list, update."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit, canonical, paging, policy
from registry.audit import Actor
from registry.exceptions import Conflict, NotFound
from registry.models import Organisation, OrgType
from registry.schemas import OrganisationIn, OrganisationPatch


def create(*, db_session: Session, actor: Actor, data: OrganisationIn,
           commit: bool = True) -> Organisation:
    """Create an organisation and return it."""
    policy.require_writable(actor, data.district)
    fields = data.model_dump()
    fields["licence_no"] = canonical.licence_number(data.licence_no)
    org = Organisation(**fields)
    db_session.add(org)
    try:
        db_session.flush()
    except IntegrityError as exc:
        raise Conflict(f"licence number {fields['licence_no']} is already registered") from exc
    audit.record(db_session, actor, "organisation.create", resource_type="organisation",
                 resource_id=org.id, district=org.district)
    if commit:
        db_session.commit()
    return org


def get(*, db_session: Session, actor: Actor, org_id: int) -> Organisation:
    """Return the organisation ``org_id``; raise NotFound when absent or out of scope."""
    org = db_session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} not found")
    policy.require_visible(actor, org.district, missing=f"organisation {org_id} not found")
    return org


def list_page(*, db_session: Session, actor: Actor, district: str | None = None,
              org_type: OrgType | None = None, offset: int = 0,
              limit: int = 50) -> tuple[list[Organisation], int]:
    """Return one page of organisations matching the filters, and the total count."""
    query = policy.scope_query(actor, select(Organisation), Organisation.district, district)
    if org_type:
        query = query.where(Organisation.org_type == org_type)
    return paging.page(db_session, query, Organisation.id, offset=offset, limit=limit)


def update(*, db_session: Session, actor: Actor, org_id: int,
           patch: OrganisationPatch) -> Organisation:
    """Apply ``patch`` to an organisation and return it."""
    org = get(db_session=db_session, actor=actor, org_id=org_id)
    changes = patch.model_dump(exclude_unset=True)
    if "licence_no" in changes:
        changes["licence_no"] = canonical.licence_number(changes["licence_no"])
    for key, value in changes.items():
        setattr(org, key, value)
    try:
        db_session.flush()
    except IntegrityError as exc:
        raise Conflict("licence number is already registered") from exc
    audit.record(db_session, actor, "organisation.update", resource_type="organisation",
                 resource_id=org.id, detail={"fields": sorted(changes)}, district=org.district)
    db_session.commit()
    return org
