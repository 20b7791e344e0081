"""Append-only audit log: every entry is hash-chained to the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry.models import AuditEntry, utcnow

GENESIS = "0" * 64
# Any constant works; it names the PostgreSQL advisory lock that serialises appends.
_PG_AUDIT_LOCK = 0x6775_6172  # "guar"


@dataclass(frozen=True)
class Actor:
    """Who performs an action: an API key id (or 'cli'), its role, and where from."""

    key_id: str
    role: str
    client: str | None = None
    district: str | None = None


def _digest(entry: AuditEntry) -> str:
    """Return the chain hash of ``entry`` over its content and the previous hash."""
    payload = json.dumps(
        [entry.seq, entry.at.isoformat(timespec="microseconds"), entry.actor, entry.role,
         entry.action, entry.resource_type, entry.resource_id, entry.client, entry.detail,
         entry.prev_hash] + ([] if entry.district is None else [entry.district]),
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, actor: Actor, action: str, *, resource_type: str | None = None,
           resource_id: Any = None, detail: dict[str, Any] | None = None,
           district: str | None = None) -> AuditEntry:
    """Append an audit entry in the caller's transaction (committed with the change itself).

    ``district`` is the one district the entry is about (None: city level).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    # SQLite: every transaction already holds the write lock (BEGIN IMMEDIATE).
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry = AuditEntry(
        seq=seq, at=utcnow(), actor=actor.key_id, role=actor.role, action=action,
        resource_type=resource_type, resource_id=None if resource_id is None else str(resource_id),
        client=actor.client, prev_hash=prev, district=district,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of a chain verification: entries checked and the problems found."""

    checked: int
    problems: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """True when no entry was altered, removed or reordered."""
        return not self.problems


def verify(session: Session, *, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain and report every altered, missing or re-linked entry."""
    problems: list[dict[str, Any]] = []
    expected_seq, prev_hash, checked, last_seq = 1, GENESIS, 0, 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                problems.append({"seq": expected_seq, "problem": "missing",
                                 "message": f"entries {expected_seq}..{e.seq - 1} were deleted"})
            if e.prev_hash != prev_hash:
                problems.append({"seq": e.seq, "problem": "broken_link",
                                 "message": "prev_hash does not match the entry before it"})
            if _digest(e) != e.hash:
                problems.append({"seq": e.seq, "problem": "altered",
                                 "message": "content does not match its hash"})
            expected_seq, prev_hash, last_seq = e.seq + 1, e.hash, e.seq
            checked += 1
    return VerifyReport(checked=checked, problems=problems)


def head(session: Session) -> tuple[int, str]:
    """Return (seq, hash) of the newest entry, to anchor outside the database."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)
