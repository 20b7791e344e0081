"""The one indexer: applies the template change feed to Milvus, its cursor kept in the database.

Applying a change writes the biometric's state as the indexer's snapshot sees it (current:
its vector or codes replace whatever Milvus held under its id; superseded: its rows are
deleted), so a change applied twice, or after a later change of the same biometric, leaves
Milvus right. The cursor is saved only after Milvus has acknowledged a batch's writes, so a
crash mid-batch applies that batch again on restart and never skips one. On PostgreSQL a
session-level advisory lock lets one process apply at a time; the others stand by.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.milvus.store import MilvusStore
from biometrics.models import Biometric, IndexCursor, Modality, TemplateChange
from biometrics.purposes import FACE_TEMPLATE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from matching.face import FaceTemplate
from matching.finger import FingerprintEngine, FingerprintTemplate
from matching.finger.index import CYLINDERS_PER_FINGER, codes
from registry.crypto import Vault
from registry.db import read_session
from registry.models import utcnow

BACKEND = "milvus"
# pg_try_advisory_lock key of the active indexer ("guardid milvus indexer").
LOCK_KEY = 0x6D69_6C76
# The indexer thread applies new changes at least this often (a NOTIFY wakes it sooner).
POLL_S = 0.25
# An interrupted apply resumes from its last saved batch while the cursor's list of applied
# seqs stays below this; a longer run (a rebuild from zero) saves its cursor at the end only.
SAVE_APPLIED_MAX = 50_000
PURPOSES = {Modality.face: FACE_TEMPLATE_PURPOSE, Modality.finger: FINGER_TEMPLATE_PURPOSE}

log = logging.getLogger("guardid.milvus")


def load_cursor(db_session: Session, modality: Modality) -> feed.Cursor:
    """Return how far the indexer has applied ``modality``'s changes (nothing: from zero)."""
    row = db_session.get(IndexCursor, (BACKEND, modality))
    if row is None:
        return feed.Cursor()
    return feed.Cursor(seq=int(row.seq), horizon=row.horizon,
                       applied=frozenset(json.loads(row.applied)))


def written_ts(db_session: Session, modality: Modality) -> int:
    """Return the Milvus timestamp a search must wait for to see every change the indexer's
    cursor of ``modality`` covers (0: none known, read Strong)."""
    row = db_session.get(IndexCursor, (BACKEND, modality))
    return int(row.written_ts or 0) if row is not None else 0


def save_cursor(db_session: Session, modality: Modality, cursor: feed.Cursor,
                ts: int = 0) -> None:
    """Store the indexer's cursor of ``modality`` and the newest Milvus timestamp ``ts`` of
    the writes it covers (never lowered; the caller commits)."""
    row = db_session.get(IndexCursor, (BACKEND, modality))
    if row is None:
        row = IndexCursor(backend=BACKEND, modality=modality, written_ts=0)
        db_session.add(row)
    row.seq, row.horizon = cursor.seq, cursor.horizon
    row.written_ts = max(int(row.written_ts or 0), int(ts))
    row.applied = json.dumps(sorted(cursor.applied))
    row.updated_at = utcnow()


def reset_cursors(db_session: Session) -> None:
    """Forget the indexer's progress (a rebuild applies the whole feed again)."""
    for m in Modality:
        row = db_session.get(IndexCursor, (BACKEND, m))
        if row is not None:
            db_session.delete(row)


@dataclass(frozen=True)
class Lag:
    """Changes of one modality the indexer has not applied, and the oldest one's age."""

    modality: str
    changes: int
    oldest_s: float


def lag(db_session: Session, modality: Modality) -> Lag:
    """Return what the indexer has not applied of ``modality`` as ``db_session`` sees it."""
    cursor = load_cursor(db_session, modality)
    query = (select(func.count(), func.min(TemplateChange.at))
             .join(Biometric, Biometric.id == TemplateChange.biometric_id)
             .where(Biometric.modality == modality))
    if cursor.horizon is None:
        query = query.where(TemplateChange.seq > cursor.seq)
    else:
        query = query.where(TemplateChange.xid >= cursor.horizon)
        if cursor.applied:
            query = query.where(TemplateChange.seq.not_in(sorted(cursor.applied)))
    n, oldest = db_session.execute(query).one()
    age = 0.0
    if n and oldest is not None:
        age = max(0.0, (utcnow() - oldest).total_seconds())
    return Lag(modality.value, int(n), age)


class Indexer:
    """Applies the change feed to one Milvus deployment (``apply``; or a thread: ``start``)."""

    def __init__(self, engine: Engine, vault: Vault, store: MilvusStore,
                 finger_engine: FingerprintEngine, *,
                 per_finger: int = CYLINDERS_PER_FINGER, batch: int = feed.REPLAY_BATCH,
                 after_batch: Callable[[Modality, int], None] | None = None):
        self.engine, self.vault, self.store = engine, vault, store
        self.finger_engine, self.per_finger, self.batch = finger_engine, per_finger, batch
        self.after_batch = after_batch  # tests: called after each batch's writes
        self.applied_total = 0
        self.active = False  # holds the lock (the one applying)
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_conn = None
        self._local = threading.Lock()

    def apply(self) -> int:
        """Apply every change not applied yet, both modalities; return how many (0 when
        another process is the active indexer)."""
        with self._local, self._leadership() as leading:
            if not leading:
                return 0
            return sum(self._apply(m) for m in (Modality.face, Modality.finger))

    def rebuild(self) -> int | None:
        """Empty the Milvus collections, forget the cursors and apply the whole feed; return
        how many changes (None when another process is the active indexer)."""
        with self._local, self._leadership() as leading:  # the lock across drop and reset
            if not leading:
                return None
            self.store.drop()
            with Session(self.engine) as s:
                reset_cursors(s)
                s.commit()
            return sum(self._apply(m) for m in (Modality.face, Modality.finger))

    @contextmanager
    def _leadership(self) -> Iterator[bool]:
        """Yield whether this process is the active indexer (PostgreSQL: the advisory lock,
        kept on a connection of its own until ``stop``; SQLite: always)."""
        if self.engine.dialect.name != "postgresql":
            self.active = True
            yield True
            return
        if self._lock_conn is None:
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
            conn.commit()
            if not got:
                conn.close()
                self.active = False
                yield False
                return
            self._lock_conn = conn
        self.active = True
        yield True

    def _apply(self, modality: Modality) -> int:
        """Apply ``modality``'s unapplied changes batch by batch; save the cursor as it goes."""
        with read_session(self.engine) as reader:
            start = load_cursor(reader, modality)
            reading = feed.Reading(reader, start, modality, batch=self.batch)
            done: set[int] = set()
            n = 0
            for changes in reading:
                if not changes:  # every row of the batch was applied before
                    continue
                self._apply_batch(modality, changes, reader)
                n += len(changes)
                done.update(c.seq for c in changes)
                if self.after_batch is not None:
                    self.after_batch(modality, n)
                if len(start.applied) + len(done) <= SAVE_APPLIED_MAX:
                    # Read again from this cursor, the reading passes over what it applied
                    # (on SQLite, commit order is seq order: the batch's last seq is enough).
                    pg = self.engine.dialect.name == "postgresql"
                    self._save(modality, feed.Cursor(
                        seq=max(start.seq, max(done)), horizon=start.horizon,
                        applied=start.applied | done if pg else frozenset()))
            self._save(modality, reading.cursor)
        self.applied_total += n
        return n

    def _save(self, modality: Modality, cursor: feed.Cursor) -> None:
        """Commit the cursor (after Milvus acknowledged everything it covers) with the
        newest timestamp of those writes."""
        with Session(self.engine) as s:
            save_cursor(s, modality, cursor, self.store.written_ts)
            s.commit()

    def _apply_batch(self, modality: Modality, changes: list[feed.Change],
                     reader: Session) -> None:
        """Write one batch's latest state of each biometric to Milvus."""
        latest = {c.biometric_id: c for c in changes}
        live = [c for c in latest.values() if c.live]
        gone = [b for b, c in latest.items() if not c.live]
        raw = [self.vault.decrypt(reader, c.template_enc, purpose=PURPOSES[modality])
               for c in live]
        if modality == Modality.face:
            if gone:
                self.store.drop_faces(gone)
            if live:
                self.store.put_faces([c.biometric_id for c in live],
                                     [c.guard_id for c in live],
                                     np.vstack([FaceTemplate.from_bytes(r).vector for r in raw]))
            return
        if gone:
            self.store.drop_fingers(gone)
        if live:
            made = [codes(self.finger_engine, FingerprintTemplate.from_bytes(r), self.per_finger)
                    for r in raw]
            self.store.put_fingers([c.biometric_id for c in live], [c.guard_id for c in live],
                                   [c.position for c in live], made)

    def start(self, wake: threading.Event | None = None) -> Indexer:
        """Apply in a background thread every POLL_S (or when ``wake`` is set)."""
        self._wake = wake or threading.Event()
        self._thread = threading.Thread(target=self._run, name="milvus-indexer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        """The thread: apply, wait, repeat; a failure is logged and retried, never fatal."""
        while not self._stop.is_set():
            try:
                self.apply()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 (kept running; /readyz shows the lag)
                self.last_error = type(exc).__name__
                log.warning("milvus indexer apply failed", extra={"error": self.last_error})
            self._wake.wait(POLL_S)
            self._wake.clear()

    def stop(self) -> None:
        """Stop the thread and give up the advisory lock."""
        self._stop.set()
        if self._thread is not None:
            self._wake.set()
            self._thread.join(timeout=30)
            self._thread = None
        if self._lock_conn is not None:
            try:  # a pooled connection keeps a session lock: unlock before it goes back
                self._lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._lock_conn.commit()
                self._lock_conn.close()
            except Exception:  # noqa: BLE001 (a broken connection: drop it, lock and all)
                self._lock_conn.invalidate()
            finally:
                self._lock_conn = None
                self.active = False
