"""Brute-force throttle of API-key authentication, kept in the database (every replica and
every restart sees the same counters).

Policy (fixed windows, counted per API key id and per client address):
- a key id that fails ``key_limit`` times within ``window`` is locked for ``window`` from the
  failure that reached the limit; while locked it is refused with 429 even with the right
  secret, or the attacker's guessing would go on and a right guess would still get in;
- a client address (the TCP peer, or the client a trusted reverse proxy names,
  api/client_address.py; forwarded-for headers are otherwise ignored, anyone can send them)
  that fails ``address_limit`` times within ``window`` is locked the same way, for every key
  it presents, since otherwise it could go on guessing other keys' secrets;
- a success resets nothing: if it did, an attacker holding one valid key of their own would
  clear their address's count with it between guesses, and a key's owner working normally
  would clear the count of whoever is guessing that key's secret. Counts end with their window;
- a locked request is refused before its secret is checked and is not counted, so a lock
  does not grow while it is waited out and tells nothing about the secret.

A valid key costs one primary-key read of this table per request, and no write. Failures are
audited at most twice per key id or address and window (when its window opens, and when it
is locked), so a flood of guesses cannot flood the audit log.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, bindparam, text
from sqlalchemy.orm import Session

from registry import audit
from registry.audit import Actor
from registry.exceptions import AuthThrottled
from registry.models import utcnow

# Defaults of the named limits (GUARDID_AUTH_* settings override them).
KEY_FAILURE_LIMIT = 10  # per key id and window: far above a person's typing mistakes
ADDRESS_FAILURE_LIMIT = 100  # per address: room for a station office's several keys behind NAT
FAILURE_WINDOW_S = 900  # 15 minutes: 10 guesses a quarter hour at a 256-bit secret is nothing
KEY, ADDRESS = "key", "address"
# Who failed authentication is not known, so the audit names nobody.
ANONYMOUS = "unauthenticated"
SUBJECT_MAX = 64  # column width; an address or key id never comes near it


@dataclass(frozen=True)
class Policy:
    """The throttle's limits: failures allowed per key id and per address within a window."""

    key_limit: int = KEY_FAILURE_LIMIT
    address_limit: int = ADDRESS_FAILURE_LIMIT
    window: dt.timedelta = dt.timedelta(seconds=FAILURE_WINDOW_S)


_UPSERT = text("""
INSERT INTO auth_failures (kind, subject, window_start, failures, locked_until)
VALUES (:kind, :subject, :now, 1, CASE WHEN 1 >= :limit THEN :lock END)
ON CONFLICT (kind, subject) DO UPDATE SET
  failures = CASE WHEN auth_failures.window_start <= :cutoff THEN 1
                  ELSE auth_failures.failures + 1 END,
  window_start = CASE WHEN auth_failures.window_start <= :cutoff THEN :now
                      ELSE auth_failures.window_start END,
  locked_until = CASE WHEN (CASE WHEN auth_failures.window_start <= :cutoff THEN 1
                                 ELSE auth_failures.failures + 1 END) >= :limit THEN :lock
                      ELSE auth_failures.locked_until END
RETURNING failures
""").bindparams(bindparam("now", type_=DateTime), bindparam("cutoff", type_=DateTime),
                bindparam("lock", type_=DateTime)).columns(failures=Integer)


def _subjects(key_id: str | None, client: str | None) -> list[tuple[str, str]]:
    pairs = [(ADDRESS, (client or "unknown")[:SUBJECT_MAX])]
    if key_id is not None:
        pairs.append((KEY, key_id[:SUBJECT_MAX]))
    return pairs


# One round trip, a primary-key probe or two; prepared once (this runs on every request).
_LOCKED_UNTIL = text("""
SELECT max(locked_until) AS locked_until FROM auth_failures
WHERE locked_until > :now
  AND ((kind = 'address' AND subject = :address) OR (kind = 'key' AND subject = :key_id))
""").bindparams(bindparam("now", type_=DateTime)).columns(locked_until=DateTime)


def check(session: Session, *, key_id: str | None, client: str | None) -> None:
    """Raise AuthThrottled when the key id or the client address is locked now."""
    now = utcnow()
    subjects = dict(_subjects(key_id, client))
    until = session.execute(_LOCKED_UNTIL, {"now": now, "address": subjects[ADDRESS],
                                            "key_id": subjects.get(KEY)}).scalar()
    if until is not None:
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise AuthThrottled("too many failed authentications from this key or address; "
                            f"retry in {wait} s", retry_after=wait)


def record_failure(session: Session, policy: Policy, *, key_id: str | None,
                   client: str | None) -> None:
    """Count a failed authentication against the address (and the key id, when it exists)."""
    now = utcnow()
    for kind, subject in _subjects(key_id, client):
        limit = policy.key_limit if kind == KEY else policy.address_limit
        failures = session.execute(_UPSERT, {
            "kind": kind, "subject": subject, "now": now, "cutoff": now - policy.window,
            "lock": now + policy.window, "limit": limit}).scalar_one()
        if failures in (1, limit):
            action = "auth.throttled" if failures == limit else "auth.failed"
            audit.record(session, Actor(key_id=ANONYMOUS, role=ANONYMOUS, client=client),
                         action, resource_type="api_key" if kind == KEY else "client",
                         resource_id=subject,
                         detail={"failures": failures, "limit": limit,
                                 "window_s": int(policy.window.total_seconds())})
