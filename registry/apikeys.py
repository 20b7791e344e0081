"""API keys: created once (secret shown once), stored as a hash, resolved per request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import throttle
from registry.audit import Actor
from registry.exceptions import NotFound, Unauthenticated
from registry.models import ApiKey, Role, utcnow

PREFIX = "gid"


@dataclass(frozen=True)
class NewKey:
    """A freshly created key: the full token is only ever available here."""

    key_id: str
    token: str
    role: Role
    district: str | None


def _hash(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def create(*, db_session: Session, role: Role, name: str, district: str | None = None) -> NewKey:
    """Create a key for ``role`` (optionally scoped to ``district``); return its token once."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    db_session.add(ApiKey(id=key_id, name=name, role=role, district=district,
                          secret_hash=_hash(secret)))
    db_session.flush()
    return NewKey(key_id=key_id, token=f"{PREFIX}_{key_id}_{secret}", role=role, district=district)


def authenticate(*, db_session: Session, token: str | None, client: str | None,
                 policy: throttle.Policy | None = None) -> Actor:
    """Return the Actor for ``token``; raise Unauthenticated when it is unknown or revoked.

    Failures are counted (and bounded-audited) per key id and client address, and committed;
    a locked key id or address gets AuthThrottled before its secret is looked at.
    """
    if not token:
        raise Unauthenticated("an API key is required (Authorization: Bearer <key>)")
    parts = token.split("_", 2)
    key_id = parts[1] if len(parts) == 3 and parts[0] == PREFIX else None
    throttle.check(db_session, key_id=key_id, client=client)
    row = db_session.get(ApiKey, key_id) if key_id else None
    if row is None or row.revoked_at is not None or not hmac.compare_digest(
        row.secret_hash, _hash(parts[2])
    ):
        # Unknown key ids count against the address only (no row for made-up ids).
        throttle.record_failure(db_session, policy or throttle.Policy(),
                                key_id=row.id if row is not None else None, client=client)
        db_session.commit()
        raise Unauthenticated("malformed API key" if key_id is None
                              else "unknown or revoked API key")
    return Actor(key_id=row.id, role=row.role.value, client=client, district=row.district)


def revoke(*, db_session: Session, key_id: str) -> None:
    """Revoke a key; later requests with it are refused."""
    row = db_session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}")
    row.revoked_at = utcnow()
    db_session.flush()


def list_keys(*, db_session: Session) -> list[ApiKey]:
    """Return every key (hashes only)."""
    return list(db_session.scalars(select(ApiKey).order_by(ApiKey.created_at)))
