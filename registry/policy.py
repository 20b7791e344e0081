"""The district policy (docs/security-policy.md), applied in this one place.

A scoped key reads and changes only records of its own district; an unscoped key reaches the
city. A record out of reach is answered exactly like a missing one (same error, same
message), so nothing here ever says "exists elsewhere". Every service's list, get, filter,
export, image and write path goes through these functions. The few lookups that stay
city-wide by design (de-duplication, 1:N identify, certificate verification, exam
stand-in search, the revocation list) are listed, with what they disclose, in the doc.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry.audit import Actor
from registry.exceptions import Forbidden, NotFound
from registry.models import Guard, Organisation

Q = TypeVar("Q", bound=Select)


def visible(actor: Actor, district: str | None) -> bool:
    """True when a record of ``district`` is within the actor's reach."""
    return actor.district is None or district == actor.district


def visible_all(actor: Actor, districts: Iterable[str | None]) -> bool:
    """True when every one of ``districts`` is within reach (a record spanning several)."""
    return all(visible(actor, d) for d in districts)


def require_visible(actor: Actor, district: str | None, *, missing: str) -> None:
    """Raise NotFound(``missing``), the record-absent message, when out of reach."""
    if not visible(actor, district):
        raise NotFound(missing)


def require_writable(actor: Actor, district: str) -> None:
    """Refuse a write that names another district than the key's own (names no record)."""
    if not visible(actor, district):
        raise Forbidden(f"this key is limited to district {actor.district}")


def district_filter(actor: Actor, requested: str | None) -> str | None:
    """Return the district a listing is limited to (the key's own when it is scoped)."""
    if actor.district is None:
        return requested
    if requested is not None and requested != actor.district:
        raise Forbidden(f"this key is limited to district {actor.district}")
    return actor.district


def scope_query(actor: Actor, query: Q, column: Any, requested: str | None = None) -> Q:
    """Return ``query`` limited to the actor's district (and a requested one, if allowed)."""
    district = district_filter(actor, requested)
    return query if district is None else query.where(column == district)


def entry_district(*districts: str | None) -> str | None:
    """Return the one district an audit entry is about; None (city level) when several."""
    found = set(districts)
    return found.pop() if len(found) == 1 else None


def guard_districts(db_session: Session, guard_ids: Iterable[int | None]) -> dict[int, str]:
    """Return {guard id: district} for the given guards (unknown ids are left out)."""
    ids = {g for g in guard_ids if g is not None}
    if not ids:
        return {}
    return dict(db_session.execute(select(Guard.id, Guard.district).where(Guard.id.in_(ids))).all())


def org_district(db_session: Session, org_id: int | None) -> str | None:
    """Return an organisation's district (None when it does not exist)."""
    if org_id is None:
        return None
    return db_session.scalar(select(Organisation.district).where(Organisation.id == org_id))


def visible_guard(db_session: Session, actor: Actor, guard_id: int | None) -> bool:
    """True when the guard exists and is within reach."""
    district = guard_districts(db_session, [guard_id]).get(guard_id)
    return district is not None and visible(actor, district)


def visible_org(db_session: Session, actor: Actor, org_id: int | None) -> bool:
    """True when the organisation exists and is within reach."""
    district = org_district(db_session, org_id)
    return district is not None and visible(actor, district)
