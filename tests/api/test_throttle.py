"""Brute force: wrong secrets are throttled per key id and per client address (429 with
Retry-After), the lock holds for a valid secret and across app instances on the same
database, a success resets nothing, and the audit log gets a bounded number of entries."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from bootstrap import Runtime, session_factory
from registry.db import make_engine
from registry.models import AuditEntry, AuthFailure
from registry.settings import Settings
from tests.helpers import auth

KEY_LIMIT, ADDRESS_LIMIT = Settings().auth_key_failure_limit, Settings().auth_address_failure_limit


def _wrong(token: str) -> str:
    prefix, key_id, _ = token.split("_", 2)
    return f"{prefix}_{key_id}_{'x' * 43}"


def _audit(runtime, action: str) -> list[AuditEntry]:  # noqa: ANN001
    with runtime.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _assert_throttled(r) -> None:  # noqa: ANN001
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_auth_failures"
    assert 0 < int(r.headers["retry-after"]) <= 900


def _failure_rows(runtime) -> int:  # noqa: ANN001
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuthFailure))


def test_wrong_secrets_lock_the_key_id_even_for_its_valid_secret(client, keys, runtime):
    for _ in range(5):  # a valid key costs a read, never a write
        assert client.get("/guards", headers=auth(keys["police"])).status_code == 200
    assert _failure_rows(runtime) == 0
    bad = auth(_wrong(keys["police"]))
    for _ in range(KEY_LIMIT):
        assert client.get("/guards", headers=bad).status_code == 401
    for _ in range(20):  # refused while locked, and not counted or audited any more
        _assert_throttled(client.get("/guards", headers=bad))
    _assert_throttled(client.get("/guards", headers=auth(keys["police"])))
    assert client.get("/guards", headers=auth(keys["admin"])).status_code == 200  # other keys
    failed, locked = _audit(runtime, "auth.failed"), _audit(runtime, "auth.throttled")
    assert sorted(e.resource_type for e in failed) == ["api_key", "client"]
    assert [(e.resource_type, e.actor) for e in locked] == [("api_key", "unauthenticated")]
    # Another app instance on the same database (a replica, or after a restart) sees the lock.
    other = make_engine(runtime.settings.database_url)
    try:
        replica = Runtime(settings=runtime.settings, engine=other,
                          sessions=session_factory(other), vault=runtime.vault)
        with TestClient(create_app(runtime=replica)) as c2:
            _assert_throttled(c2.get("/guards", headers=auth(keys["police"])))
    finally:
        other.dispose()


def test_the_lock_ends_with_its_window_and_counting_starts_again(client, keys, runtime):
    bad = auth(_wrong(keys["station"]))
    for _ in range(KEY_LIMIT):
        client.get("/guards", headers=bad)
    _assert_throttled(client.get("/guards", headers=auth(keys["station"])))
    past = dt.datetime(2026, 1, 1)
    with runtime.sessions() as s:  # the window passes
        s.execute(update(AuthFailure).values(window_start=past, locked_until=past))
        s.commit()
    assert client.get("/guards", headers=auth(keys["station"])).status_code == 200
    assert client.get("/guards", headers=bad).status_code == 401
    with runtime.sessions() as s:
        assert s.scalar(select(func.max(AuthFailure.failures))) == 1


@pytest.mark.parametrize("with_successes", [False, True])
def test_an_address_guessing_many_keys_is_locked_and_a_success_resets_nothing(
        runtime, keys, with_successes):
    guesses = [f"gid_{n:012x}_{'y' * 43}" for n in range(ADDRESS_LIMIT)]
    with TestClient(create_app(runtime=runtime), client=("203.0.113.9", 4000)) as c:
        for n, guess in enumerate(guesses):
            assert c.get("/guards", headers=auth(guess)).status_code == 401
            if with_successes and n % 10 == 0:  # the attacker's own valid key in between
                assert c.get("/guards", headers=auth(keys["admin"])).status_code == 200
        _assert_throttled(c.get("/guards", headers=auth("gid_abcdef012345_" + "z" * 43)))
        _assert_throttled(c.get("/guards", headers=auth(keys["admin"])))
    with TestClient(create_app(runtime=runtime), client=("198.51.100.7", 4000)) as c:
        assert c.get("/guards", headers=auth(keys["admin"])).status_code == 200
    # unknown key ids leave no rows of their own: the table stays as small as the key list
    assert _failure_rows(runtime) == 1
    assert len(_audit(runtime, "auth.failed")) == 1
    assert len(_audit(runtime, "auth.throttled")) == 1

