"""District scoping: a key bound to a district sees and writes only that district."""

from __future__ import annotations

from registry.audit import Actor
from registry.exceptions import Forbidden, NotFound


def effective_district(actor: Actor, requested: str | None) -> str | None:
    """Return the district filter to apply: the key's own when it is scoped."""
    if actor.district is None:
        return requested
    if requested is not None and requested != actor.district:
        raise Forbidden(f"this key is limited to district {actor.district}")
    return actor.district


def check_district(actor: Actor, district: str, *, what: str) -> None:
    """Raise NotFound when a scoped key asks for a record outside its district."""
    if actor.district is not None and district != actor.district:
        # NotFound rather than Forbidden: do not confirm that the record exists.
        raise NotFound(f"{what} not found")
