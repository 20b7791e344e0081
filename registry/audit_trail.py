"""The audit trail as a whole: sealing, checkpoints, verification, adoption of the old chain,
and the sealer thread each server process runs."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from registry import audit, checkpoints
from registry.audit import ALG_KEYED, ALG_LEGACY, GENESIS, VerifyReport
from registry.checkpoints import Checkpoint, CheckpointStore
from registry.crypto import Keyring
from registry.db import read_session
from registry.models import AuditEntry
from registry.settings import Settings

log = logging.getLogger("guardid.audit")
# Who the trail's own entries name (legacy adoption).
SYSTEM_ACTOR = audit.Actor(key_id="system", role="admin", client="local")
# Problems of the old chain copied into the adoption entry (the rest are counted).
ADOPTION_PROBLEMS_RECORDED = 20
# Verification reports entries unsealed for longer than this: the sealer seals every second,
# so an older unsealed entry means no sealer runs (or one fails), not a busy one.
UNSEALED_MAX_AGE = dt.timedelta(seconds=30)
# How long stopping the sealer waits for its last round (seconds).
STOP_TIMEOUT_S = 30.0


@dataclass
class AuditTrail:
    """Seals, checkpoints and verifies one registry's audit chain."""

    sessions: sessionmaker[Session]
    keyring: Keyring
    store: CheckpointStore
    unsealed_max_age: dt.timedelta = UNSEALED_MAX_AGE

    @classmethod
    def build(cls, settings: Settings, sessions: sessionmaker[Session],
              keyring: Keyring) -> AuditTrail:
        """Return the trail for ``settings``; raise ConfigurationError without audit keys."""
        keyring.chain_key()
        keyring.checkpoint_signer()
        return cls(sessions=sessions, keyring=keyring,
                   store=CheckpointStore(settings.audit_checkpoint_dir))

    def seal(self, *, wait: bool = True) -> int:
        """Seal every committed unsealed entry; return how many."""
        return audit.seal(self.sessions, self.keyring.chain_key(), wait=wait)

    def head(self) -> tuple[int, str]:
        """Return the sealed head (seq, hash)."""
        with read_session(self.sessions.kw["bind"]) as reader:
            return audit.head(reader)

    def checkpoint(self) -> Checkpoint:
        """Seal, then sign the head and store the checkpoint; return it."""
        self.seal()
        seq, digest = self.head()
        cp = checkpoints.sign(self.keyring, seq, digest)
        self.store.write(cp)
        return cp

    def verify(self, witnessed: Iterable[tuple[str, Checkpoint | str]] = ()) -> VerifyReport:
        """Seal, then verify the chain against every stored and ``witnessed`` checkpoint."""
        self.seal()
        found = self.store.load() + list(witnessed)
        anchors, bad = checkpoints.anchors(found, self.keyring.checkpoint_public_key())
        with read_session(self.sessions.kw["bind"]) as reader:
            report = audit.verify(reader, self.keyring.chain_key(), anchors=anchors,
                                  unsealed_max_age=self.unsealed_max_age)
        for seq, kind, message in bad:
            report.add(seq, kind, message)
        return report

    def adopt_legacy(self) -> VerifyReport:
        """Verify the plain SHA-256 chain of before and re-seal it with the chain key.

        Run by `guardid migrate` after the schema upgrade. Problems found in the old chain are
        returned and written into the adoption's own (sealed) audit entry, so re-sealing
        never hides them. Returns an empty report when nothing is left to adopt.
        """
        report = VerifyReport()
        with self.sessions() as session:
            audit.take_sealer_lock(session, wait=True)
            if session.scalar(select(AuditEntry.id).where(AuditEntry.alg == ALG_LEGACY)
                              .limit(1)) is None:
                return report
            self._reseal(session, report)
            audit.record(session, SYSTEM_ACTOR, "audit.legacy_adopted", detail={
                "entries": report.checked, "problems": report.problem_count,
                "first": [{"seq": p["seq"], "problem": p["problem"]}
                          for p in report.problems[:ADOPTION_PROBLEMS_RECORDED]]})
            session.commit()
        self.seal()
        return report

    def _reseal(self, session: Session, report: VerifyReport) -> None:
        """Check each sealed entry with its own algorithm, then re-chain it with the key."""
        key, table = self.keyring.chain_key(), AuditEntry.__table__
        expected, old_prev, new_prev = 1, GENESIS, GENESIS
        for row in list(audit.sealed_entries(session)):
            audit.check_entry(report, key, row, expected, old_prev, legacy_ok=True)
            new_hash = audit.keyed_digest(key, row, prev_hash=new_prev)
            session.execute(update(table).where(table.c.id == row.id).values(
                prev_hash=new_prev, hash=new_hash, alg=ALG_KEYED,
                mac=row.mac if row.alg == ALG_KEYED else audit.entry_mac(key, row)))
            expected, old_prev, new_prev = row.seq + 1, row.hash, new_hash
            report.checked += 1
        report.head_seq, report.head_hash = expected - 1, new_prev


class Sealer:
    """Background thread of a server process: seals every ``interval`` seconds and writes a
    checkpoint every ``checkpoint_interval`` seconds or ``checkpoint_every`` entries."""

    def __init__(self, trail: AuditTrail, *, interval: float, checkpoint_interval: float,
                 checkpoint_every: int) -> None:
        self.trail, self.interval = trail, interval
        self.checkpoint_interval, self.checkpoint_every = checkpoint_interval, checkpoint_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
        self._since_checkpoint, self._last_checkpoint = 0, float("-inf")  # one at start
        self._checkpointed_seq = -1

    @classmethod
    def for_settings(cls, trail: AuditTrail, settings: Settings) -> Sealer:
        """Return a sealer with the cadence ``settings`` name."""
        return cls(trail, interval=settings.audit_seal_interval_s,
                   checkpoint_interval=settings.audit_checkpoint_interval_s,
                   checkpoint_every=settings.audit_checkpoint_every)

    def start(self) -> Sealer:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last seal and checkpoint."""
        self._stop.set()
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._round(final=False)
        self._round(final=True)

    def _round(self, *, final: bool) -> None:
        """Seal what is waiting; checkpoint when due (always on the last round)."""
        try:
            self._since_checkpoint += self.trail.seal(wait=final)
            due = (self._since_checkpoint >= self.checkpoint_every or final
                   or time.monotonic() - self._last_checkpoint >= self.checkpoint_interval)
            if due:
                self._checkpoint()
        except Exception as exc:  # noqa: BLE001 (the thread must outlive a failed round)
            log.warning("audit sealer round failed: %s", type(exc).__name__)

    def _checkpoint(self) -> None:
        seq, digest = self.trail.head()
        if seq != self._checkpointed_seq:  # an idle registry writes no new files
            self.trail.store.write(checkpoints.sign(self.trail.keyring, seq, digest))
            self._checkpointed_seq = seq
        self._since_checkpoint, self._last_checkpoint = 0, time.monotonic()
