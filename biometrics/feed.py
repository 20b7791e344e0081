"""The gallery change feed: the one writer of ``template_changes`` and a reader that skips nothing.

A change names a biometric whose gallery entry must be (re)read. ``seq`` is numbered when the
row is inserted, not when its transaction commits, so on PostgreSQL a lower seq held by a slow
transaction can appear after a higher one is already visible: a reader that only remembers the
highest seq it saw would skip it for good. Each row therefore records its writing transaction
(``xid``, filled by the database: ``pg_current_xact_id()``), and a reader remembers a
*horizon*: the snapshot ``xmin`` of its last read. Every transaction below that horizon had
ended by then, so all its changes were already read; the next read takes every change at or
above the horizon and passes over those it already applied. SQLite has one writer at a time
(``BEGIN IMMEDIATE``), so there commit order is seq order and the highest seq is enough.

Applying a change brings the gallery's copy of the biometric to its state in the reader's
snapshot (current: add or replace; superseded: remove), so a change read twice, or after a
later change of the same biometric, leaves the gallery right.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import insert, select, text, true
from sqlalchemy.orm import Session

from biometrics.models import Biometric, Modality, TemplateChange

# The oldest transaction that may still be running, as a bigint (xid8 with its epoch: it
# never wraps, so it compares with the ``xid`` column directly).
_PG_XMIN = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
# PostgreSQL channel every change is announced on (at its transaction's commit), so each
# replica's listener (biometrics.replication) catches up without waiting for a search.
NOTIFY_CHANNEL = "guardid_template_changes"
_PG_NOTIFY = text("SELECT pg_notify(:channel, '')")
# Changes a reader fetches and applies at a time: a replay of the whole feed holds one batch of
# encrypted templates, not all of them.
REPLAY_BATCH = 5_000


class ChangeOp(StrEnum):
    """What a writer did to a biometric: stored (or re-made) it, or took it out."""

    add = "add"
    remove = "remove"


def record_add(session: Session, biometric_ids: Iterable[int]) -> None:
    """Log that these biometrics were stored or their templates re-made (in the caller's txn)."""
    _record(session, ChangeOp.add, biometric_ids)


def record_remove(session: Session, biometric_ids: Iterable[int]) -> None:
    """Log that these biometrics left the galleries (superseded), in the caller's transaction."""
    _record(session, ChangeOp.remove, biometric_ids)


def _record(session: Session, op: ChangeOp, biometric_ids: Iterable[int]) -> None:
    """Insert one change row per biometric and announce it (PostgreSQL: NOTIFY, ``xid``)."""
    rows = [{"biometric_id": int(b), "op": op.value} for b in biometric_ids]
    if rows:
        session.execute(insert(TemplateChange), rows)
        if session.get_bind().dialect.name == "postgresql":
            # Transactional: delivered when (and only if) these rows commit.
            session.execute(_PG_NOTIFY, {"channel": NOTIFY_CHANNEL})


@dataclass(frozen=True)
class Change:
    """One change to apply: the biometric's state as the reader's snapshot sees it."""

    seq: int
    biometric_id: int
    guard_id: int
    position: int  # ISO finger position (0 unknown), FACE_POSITION for a face
    live: bool  # False: superseded, so it leaves the gallery
    template_enc: bytes
    xid: int | None = None  # PostgreSQL: the writing transaction (see covers)


@dataclass
class Cursor:
    """How far a reader has read: every change it still has to see is beyond this."""

    seq: int = 0  # highest seq applied (SQLite reads past it; informative on PostgreSQL)
    horizon: int | None = None  # PostgreSQL: xmin of the last read (None: read everything)
    applied: frozenset[int] = field(default_factory=frozenset)  # seqs at/above the horizon


def covers(cursor: Cursor, change: Change) -> bool:
    """Return whether a reader at ``cursor`` has applied ``change`` (one this reader's own
    snapshot sees): on PostgreSQL, its transaction ended below the horizon or its seq is
    among those applied at or above it; on SQLite, its seq is at or below the cursor's."""
    if cursor.horizon is None:
        return change.seq <= cursor.seq
    return ((change.xid is not None and change.xid < cursor.horizon)
            or change.seq in cursor.applied)


def read(session: Session, cursor: Cursor, modality: Modality) -> tuple[list[Change], Cursor]:
    """Return the changes of ``modality`` not applied yet, in seq order, and the next cursor.

    The caller applies the changes, then keeps the returned cursor (not before: a failed
    apply reads them again).
    """
    reading = Reading(session, cursor, modality)
    changes = [c for batch in reading for c in batch]
    return changes, reading.cursor


class Reading:
    """The changes of ``modality`` not applied yet, read in seq order in batches of
    ``batch`` rows (streamed: a server-side cursor on PostgreSQL), so a replay of the whole
    feed never holds every template at once. Once iterated to the end, ``cursor`` is the
    cursor to keep after applying every batch."""

    def __init__(self, session: Session, cursor: Cursor, modality: Modality, *,
                 batch: int = REPLAY_BATCH):
        self.session, self.start, self.modality, self.batch = session, cursor, modality, batch
        self.cursor: Cursor | None = None

    def __iter__(self) -> Iterator[list[Change]]:
        """Yield the changes batch by batch; set ``cursor`` after the last."""
        session, cursor = self.session, self.start
        if session.get_bind().dialect.name != "postgresql":
            for rows in self._rows(TemplateChange.seq > cursor.seq):
                yield [_change(r) for r in rows]
            top = session.scalar(select(TemplateChange.seq)
                                 .order_by(TemplateChange.seq.desc()).limit(1))
            self.cursor = Cursor(seq=max(cursor.seq, top or 0))
            return
        # xmin first: the rows query runs on a later snapshot, which sees every transaction
        # that had ended by then, so the older horizon is the safe one to keep.
        horizon = session.scalar(_PG_XMIN)
        unsettled: set[int] = set()
        top = 0
        for rows in self._rows(TemplateChange.xid >= cursor.horizon
                               if cursor.horizon is not None else true()):
            unsettled.update(r.seq for r in rows if r.xid is None or r.xid >= horizon)
            top = max(top, max((r.seq for r in rows), default=0))
            yield [_change(r) for r in rows if r.seq not in cursor.applied]
        self.cursor = Cursor(seq=max(cursor.seq, top), horizon=horizon,
                             applied=frozenset(unsettled))

    def _rows(self, where) -> Iterator[list]:  # noqa: ANN001
        """Yield the change rows of the modality matching ``where``, ``batch`` at a time, with
        only the columns a gallery needs (never the image)."""
        result = self.session.execute(
            select(TemplateChange.seq, TemplateChange.xid, Biometric.id, Biometric.guard_id,
                   Biometric.position, Biometric.superseded_at, Biometric.template_enc)
            .join(Biometric, Biometric.id == TemplateChange.biometric_id)
            .where(where, Biometric.modality == self.modality)
            .order_by(TemplateChange.seq)
            .execution_options(yield_per=self.batch))
        for rows in result.partitions():
            yield list(rows)


def identity(session: Session, seq: int) -> int | None:
    """Return the biometric id the change ``seq`` names (None: no such change), so a
    snapshot tagged ``seq`` can tell whether this feed is the one it was made from."""
    return session.scalar(select(TemplateChange.biometric_id).where(TemplateChange.seq == seq))


def _change(row) -> Change:  # noqa: ANN001
    """Return the change a joined row describes."""
    return Change(seq=row.seq, biometric_id=row.id, guard_id=row.guard_id,
                  position=row.position, live=row.superseded_at is None,
                  template_enc=row.template_enc, xid=row.xid)
