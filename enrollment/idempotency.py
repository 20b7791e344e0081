"""Idempotency keys: a retried request gets the first response, and its effect happens once."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from enrollment.exceptions import IdempotencyMismatch
from enrollment.models import IdempotencyRecord


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one request, bound to who sent it (the API key id) and what it asked."""

    key: str
    actor: str
    fingerprint: str
    status: int  # what a replay answers with: the API's status for the route (0: no HTTP)

    @classmethod
    def of(cls, key: str, actor: str, method: str, path: str, body: bytes, *,
           status: int) -> IdempotencyKey:
        """Return the key bound to this request's method, path and body."""
        digest = hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body)
        return cls(key=f"{actor}:{key}"[:128], actor=actor, fingerprint=digest.hexdigest(),
                   status=status)


def replay(db_session: Session, idem: IdempotencyKey | None) -> tuple[int, Any] | None:
    """Return the stored (status, body) for a key seen before, else None."""
    if idem is None:
        return None
    row = db_session.get(IdempotencyRecord, idem.key)
    if row is None:
        return None
    if row.fingerprint != idem.fingerprint:
        raise IdempotencyMismatch("this Idempotency-Key was already used for another request")
    return row.status_code, json.loads(row.body)


def remember(db_session: Session, idem: IdempotencyKey | None, body: Any) -> None:
    """Store the response in the caller's transaction, so effect and record commit together."""
    if idem is not None:
        db_session.add(IdempotencyRecord(key=idem.key, actor=idem.actor,
                                         fingerprint=idem.fingerprint, status_code=idem.status,
                                         body=json.dumps(body, default=str, ensure_ascii=False)))
