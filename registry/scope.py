"""Compatibility names for the district policy; the rules live in registry/policy.py."""

from __future__ import annotations

from registry.audit import Actor
from registry.policy import district_filter as effective_district
from registry.policy import require_visible

__all__ = ["check_district", "effective_district"]


def check_district(actor: Actor, district: str, *, what: str) -> None:
    """Raise NotFound("<what> not found") when ``district`` is out of the key's reach."""
    require_visible(actor, district, missing=f"{what} not found")
