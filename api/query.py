"""Query strings are held to what a route declares: an unknown parameter is refused with
``unknown_query_parameter`` (a misspelt filter, ``/guards?name=...``, would otherwise
return every record as if it had been applied)."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from matching.exceptions import GuardidError

_DECLARED: dict[int, frozenset[str]] = {}


class UnknownQueryParameter(GuardidError):
    """A query parameter the endpoint does not take."""

    code = "unknown_query_parameter"


def _names(dependant: Dependant) -> set[str]:
    """Return the query parameter names of a dependant and of everything it depends on."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def declared(route: APIRoute) -> frozenset[str]:
    """Return the query parameter names a route takes (its dependencies' included)."""
    key = id(route)
    if key not in _DECLARED:
        _DECLARED[key] = frozenset(_names(route.dependant))
    return _DECLARED[key]


async def reject_unknown_query(request: Request) -> None:
    """Refuse a request whose query names a parameter its route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema or \
            not request.query_params:  # the pages take no data; their shells need no check
        return
    unknown = sorted(set(request.query_params.keys()) - declared(route))
    if unknown:
        takes = ", ".join(sorted(declared(route))) or "none"
        raise UnknownQueryParameter(
            f"unknown query parameter {', '.join(unknown)} (this endpoint takes: {takes})")
