"""Which address a request comes from: the TCP peer, or behind a trusted reverse proxy the
client its X-Forwarded-For names (GUARDID_TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(request: Request, proxies: Sequence[Network]) -> str | None:
    """Return the request's client address.

    The peer, unless it is a trusted proxy: then X-Forwarded-For is read from the right (each
    proxy appends the address it received from), skipping trusted proxies, and the first
    other address is the client; an entry that is not an address ends the walk there (it was
    written by whoever sent the request, so nothing left of it can be believed).
    """
    peer = request.client.host if request.client else None
    if peer is None or not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
    client = peer
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not _trusted(hop, proxies):
            break
    return client
