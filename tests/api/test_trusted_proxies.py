"""Behind a reverse proxy the throttle and the audit trail see the real client: with
GUARDID_TRUSTED_PROXIES naming the proxy, the client is the nearest untrusted address in its
X-Forwarded-For; without it (the default) the header is ignored, as anyone can send it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from api.app import create_app
from bootstrap import Runtime
from registry.models import AuditEntry
from registry.settings import Settings
from tests.helpers import auth

PROXY = ("10.0.0.2", 4000)
ADDRESS_LIMIT = Settings().auth_address_failure_limit


def _behind(runtime: Runtime, proxies: str) -> Runtime:
    settings = runtime.settings.model_copy(update={"trusted_proxies": proxies})
    return Runtime(settings=settings, engine=runtime.engine, sessions=runtime.sessions,
                   vault=runtime.vault)


def _guess(c: TestClient, forwarded: str, n: int) -> int:
    return c.get("/guards", headers={**auth(f"gid_{n:012x}_{'y' * 43}"),
                                     "X-Forwarded-For": forwarded}).status_code


def _clients(runtime: Runtime) -> set[str | None]:
    with runtime.sessions() as s:
        return set(s.scalars(select(AuditEntry.client).where(
            AuditEntry.action == "guard.list")))


def test_behind_a_trusted_proxy_one_guessing_client_is_locked_not_everyone(runtime, keys):
    with TestClient(create_app(runtime=_behind(runtime, "10.0.0.0/24")), client=PROXY) as c:
        for n in range(ADDRESS_LIMIT):
            assert _guess(c, "203.0.113.9", n) == 401
        locked = c.get("/guards", headers={**auth(keys["admin"]),
                                           "X-Forwarded-For": "203.0.113.9"})
        assert locked.status_code == 429
        # Another station behind the same proxy works on; its address is in the audit trail.
        ok = c.get("/guards", headers={**auth(keys["admin"]),
                                       "X-Forwarded-For": "198.51.100.7, 10.0.0.3"})
        assert ok.status_code == 200
    assert "198.51.100.7" in _clients(runtime)


def test_a_spoofed_left_part_of_the_header_is_not_believed(runtime, keys):
    with TestClient(create_app(runtime=_behind(runtime, "10.0.0.0/24")), client=PROXY) as c:
        for n in range(ADDRESS_LIMIT):  # the attacker varies what it writes itself
            assert _guess(c, f"192.0.2.{n % 200}, 203.0.113.9", n) == 401
        assert c.get("/guards", headers={**auth(keys["admin"]),
                                         "X-Forwarded-For": "203.0.113.9"}).status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(runtime, keys):
    with TestClient(create_app(runtime=_behind(runtime, "")), client=PROXY) as c:
        for n in range(ADDRESS_LIMIT):
            assert _guess(c, f"192.0.2.{n % 200}", n) == 401
        # every guess counted against the peer: the proxy's address is locked
        assert c.get("/guards", headers={**auth(keys["admin"]),
                                         "X-Forwarded-For": "198.51.100.7"}).status_code == 429


def test_a_malformed_proxy_setting_is_refused():
    with pytest.raises(ValidationError, match="not an address or network"):
        Settings(trusted_proxies="10.0.0.0/24, proxy.example")
