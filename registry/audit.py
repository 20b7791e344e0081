"""Append-only audit log: requests insert entries; a sealer chains them with a keyed HMAC.

Appending takes no lock: ``record`` only inserts the entry, unsealed, in the caller's
transaction, so audited reads never wait on one another's commit. ``seal`` (one sealer at a
time: a PostgreSQL advisory lock that only sealers take; SQLite has one writer anyway) gives
every committed unsealed entry it can see the next chain position, whatever its insert id,
so an entry whose transaction commits late is sealed in a later batch, never skipped. A
sealed entry carries HMAC-SHA256(chain key, content + position + previous hash); the key is
in the keyring file, not the database, so whoever can write only the database cannot re-hash
an edited tail. Signed checkpoints of the head (registry/checkpoints.py) reveal truncation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from registry.db import read_session
from registry.models import AuditEntry, utcnow

GENESIS = "0" * 64
# How an entry was sealed: the plain SHA-256 chain of before the keyed chain (only until
# `guardid migrate` re-seals it), and the keyed chain.
ALG_LEGACY = "sha256"
ALG_KEYED = "hmac-sha256"
# Domain separation: a chain hash is never valid as an entry MAC, nor either as any other
# HMAC made with the same key.
_MAC_DOMAIN = b"guardid-audit-chain-v1\n"
_ENTRY_DOMAIN = b"guardid-audit-entry-v1\n"
# Where a session carries the chain key, so that ``record`` can authenticate what it writes
# (bootstrap.py puts it in every session of the runtime's factory).
SESSION_KEY_INFO = "guardid.audit_key"
# Any constant works; it names the PostgreSQL advisory lock that only sealers take.
_PG_SEALER_LOCK = 0x6775_6172  # "guar"
# Entries chained per sealer transaction (a short transaction even after a backlog).
SEAL_BATCH = 1000
# Entries read per query when verifying.
VERIFY_BATCH = 5000
# Problems listed one by one; past this, verification only counts them.
MAX_LISTED_PROBLEMS = 100


@dataclass(frozen=True)
class Actor:
    """Who performs an action: an API key id (or 'cli'), its role, and where from."""

    key_id: str
    role: str
    client: str | None = None
    district: str | None = None


def _payload(entry: Any, prev_hash: str | None = None) -> bytes:
    """Return the canonical bytes the chain hash covers (content, position, previous hash)."""
    return json.dumps(
        [entry.seq, entry.at.isoformat(timespec="microseconds"), entry.actor, entry.role,
         entry.action, entry.resource_type, entry.resource_id, entry.client, entry.detail,
         entry.prev_hash if prev_hash is None else prev_hash]
        # The district joined the entry later: entries without one hash as they always did.
        + ([] if entry.district is None else [entry.district]),
        ensure_ascii=False, separators=(",", ":"),
    ).encode()


def legacy_digest(entry: Any) -> str:
    """Return the plain SHA-256 chain hash of before the keyed chain (verified on adoption)."""
    return hashlib.sha256(_payload(entry)).hexdigest()


def keyed_digest(key: bytes, entry: Any, prev_hash: str | None = None) -> str:
    """Return the keyed chain hash of ``entry`` (HMAC-SHA256 with the audit chain key)."""
    return hmac.new(key, _MAC_DOMAIN + _payload(entry, prev_hash), hashlib.sha256).hexdigest()


def entry_mac(key: bytes, entry: Any) -> str:
    """Return the MAC ``record`` gives an entry over its insert id and content: rows that
    guardid did not write (inserted into the database directly, or replayed copies of real
    ones under a new id) lack a valid one, and the sealer seals them as they are."""
    body = json.dumps([entry.id, entry.at.isoformat(timespec="microseconds"), entry.actor,
                       entry.role, entry.action, entry.resource_type, entry.resource_id,
                       entry.client, entry.detail]
                      + ([] if entry.district is None else [entry.district]),
                      ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, _ENTRY_DOMAIN + body.encode(), hashlib.sha256).hexdigest()


def record(session: Session, actor: Actor, action: str, *, resource_type: str | None = None,
           resource_id: Any = None, detail: dict[str, Any] | None = None,
           district: str | None = None) -> AuditEntry:
    """Add an unsealed audit entry to the caller's transaction (committed with the change);
    no lock is taken, so concurrent requests never wait on one another to append.

    ``district`` is the one district the entry is about (None: city level).
    """
    entry = AuditEntry(
        id=_next_id(session), at=utcnow(), actor=actor.key_id, role=actor.role, action=action,
        resource_type=resource_type, resource_id=None if resource_id is None else str(resource_id),
        client=actor.client, district=district,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    key = session.info.get(SESSION_KEY_INFO)
    if key is not None:
        entry.mac = entry_mac(key, entry)  # over the insert id: known before the insert
    session.add(entry)
    session.flush()  # one INSERT, MAC included (the next entry's SQLite id counts this one)
    return entry


def _next_id(session: Session) -> int:
    """Return the insert id of a new entry, taken before its INSERT so that the entry goes
    in whole, MAC included, in one write.

    PostgreSQL: the id sequence's next value, as the column default would take it (no
    lock: concurrent appends still never wait on one another). SQLite: one more than the
    largest id, which is how SQLite assigns a rowid itself; no other writer can take it in
    between, because every guardid write transaction holds SQLite's one write lock from its
    first statement (BEGIN IMMEDIATE, registry/db.py).
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))"))
    return (session.scalar(select(func.max(AuditEntry.id))) or 0) + 1


def record_separately(sessions: sessionmaker[Session], actor: Actor, action: str,
                      **kwargs: Any) -> None:
    """Commit one audit entry in a transaction of its own (for requests that fail, e.g. a
    refused authentication); the caller must not hold a write transaction open (SQLite)."""
    with sessions() as session:
        record(session, actor, action, **kwargs)
        session.commit()


def take_sealer_lock(session: Session, *, wait: bool) -> bool:
    """Serialise sealers (PostgreSQL); False when ``wait`` is off and another sealer runs."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the transaction already holds the one write lock
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SEALER_LOCK})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                               {"k": _PG_SEALER_LOCK}))


def head(session: Session) -> tuple[int, str]:
    """Return (seq, hash) of the newest sealed entry, the head that checkpoints sign."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def _seal_batch(session: Session, key: bytes, *, wait: bool) -> int:
    """Chain up to SEAL_BATCH committed unsealed entries, oldest insert first; commit."""
    if not take_sealer_lock(session, wait=wait):
        return 0
    seq, prev = head(session)  # read after the lock: sees every earlier sealer's commit
    rows = session.scalars(select(AuditEntry).where(AuditEntry.seq.is_(None))
                           .order_by(AuditEntry.id).limit(SEAL_BATCH)).all()
    for entry in rows:
        seq += 1
        entry.seq, entry.prev_hash, entry.alg = seq, prev, ALG_KEYED
        entry.hash = prev = keyed_digest(key, entry)
    session.commit()
    return len(rows)


def has_unsealed(session: Session) -> bool:
    """True when some committed entry is waiting for its chain position."""
    return session.scalar(select(AuditEntry.id).where(AuditEntry.seq.is_(None)).limit(1)) \
        is not None


def seal(sessions: sessionmaker[Session], key: bytes, *, wait: bool = True) -> int:
    """Seal every committed unsealed entry; return how many. Without ``wait`` it returns 0
    at once when another sealer holds the lock (PostgreSQL)."""
    with read_session(sessions.kw["bind"]) as reader:  # idle check without the write lock
        if not has_unsealed(reader):
            return 0
    total = 0
    while True:
        with sessions() as session:
            n = _seal_batch(session, key, wait=wait)
        total += n
        if n < SEAL_BATCH:
            return total


@dataclass
class VerifyReport:
    """Outcome of a chain verification: entries checked, the head, and the problems."""

    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    unsealed: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        """True when no entry was altered, removed, re-linked or left unsealed too long."""
        return self.problem_count == 0

    def add(self, seq: int | None, problem: str, message: str) -> None:
        """Note a problem (listed while fewer than MAX_LISTED_PROBLEMS, always counted)."""
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append({"seq": seq, "problem": problem, "message": message})


def check_entry(report: VerifyReport, key: bytes, entry: Any, expected_seq: int,
                prev_hash: str, *, legacy_ok: bool = False) -> None:
    """Add to ``report`` what is wrong with ``entry`` given the position and hash before it
    (plain SHA-256 entries pass only with ``legacy_ok``: adopting the old chain)."""
    if entry.seq != expected_seq:
        report.add(expected_seq, "missing", f"entries {expected_seq}..{entry.seq - 1} were deleted")
    if entry.prev_hash != prev_hash:
        report.add(entry.seq, "broken_link", "prev_hash does not match the entry before it")
    if entry.alg == ALG_LEGACY and legacy_ok:
        if not hmac.compare_digest(legacy_digest(entry), entry.hash or ""):
            report.add(entry.seq, "altered", "content does not match its (plain) hash")
    elif entry.alg == ALG_LEGACY:
        report.add(entry.seq, "unkeyed", "sealed without the audit chain key: run `guardid "
                   "migrate`, which verifies the old chain and re-seals it")
    elif entry.alg != ALG_KEYED or not hmac.compare_digest(
            keyed_digest(key, entry), entry.hash or ""):
        report.add(entry.seq, "altered", "content does not match its keyed hash")
    elif not hmac.compare_digest(entry_mac(key, entry), entry.mac or ""):
        report.add(entry.seq, "unauthenticated", "guardid did not write this entry (no valid "
                   "entry MAC): inserted into the database directly or copied")


def sealed_entries(session: Session, *, batch: int = VERIFY_BATCH) -> Iterable[Any]:
    """Yield every sealed entry in chain order as plain rows, ``batch`` per query (rows, not
    ORM objects: a long chain does not fill the session)."""
    columns, last = AuditEntry.__table__.c, 0
    while True:
        rows = session.execute(select(*columns).where(columns.seq > last)
                               .order_by(columns.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session, key: bytes, *, anchors: Iterable[tuple[int, str, str]] = (),
           unsealed_max_age: dt.timedelta = dt.timedelta(seconds=30)) -> VerifyReport:
    """Walk the whole chain: report every altered, missing, re-linked or unkeyed entry, every
    anchor (seq, hash, source: a signed checkpoint) the chain no longer reaches or matches,
    and unsealed entries older than ``unsealed_max_age`` (the sealer is not running)."""
    anchors = list(anchors)
    wanted = {seq for seq, _, _ in anchors}
    report, seen = VerifyReport(), {}
    expected_seq, prev_hash = 1, GENESIS
    for entry in sealed_entries(session):
        check_entry(report, key, entry, expected_seq, prev_hash)
        if entry.seq in wanted:
            seen[entry.seq] = entry.hash
        expected_seq, prev_hash = entry.seq + 1, entry.hash or ""
        report.checked += 1
        report.head_seq, report.head_hash = entry.seq, prev_hash
    for seq, digest, source in anchors:
        if seq > report.head_seq:
            report.add(seq, "truncated", f"entries {report.head_seq + 1}..{seq} that {source} "
                       "covers were deleted")
        elif seq in seen and not hmac.compare_digest(seen[seq], digest):
            report.add(seq, "checkpoint_mismatch", f"the chain at {seq} differs from {source}")
    _check_unsealed(session, report, utcnow() - unsealed_max_age)
    return report


def _check_unsealed(session: Session, report: VerifyReport, cutoff: dt.datetime) -> None:
    unsealed = AuditEntry.seq.is_(None)
    report.unsealed = session.scalar(select(func.count()).where(unsealed)) or 0
    stale = session.scalar(select(func.count()).where(unsealed, AuditEntry.at < cutoff)) or 0
    if stale:
        report.add(None, "unsealed", f"{stale} entries written before {cutoff:%Y-%m-%d %H:%M:%S} "
                   "UTC are still unsealed: is the sealer running?")
