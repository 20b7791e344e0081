"""Replicas in step: a PostgreSQL listener that catches the galleries up on every committed
template change, and how far each gallery lags behind the change feed.

Every writer of the feed NOTIFYs ``biometrics.feed.NOTIFY_CHANNEL`` in the writing
transaction, so PostgreSQL delivers it at commit. Each server runs one listener thread on its
own connection; a notification (or a burst of them) triggers one catch-up of both galleries.
The pull before each search stays the backstop: a notification lost while the listener
reconnects is caught up on reconnecting, and by the next search anyway. SQLite serves one
process, whose own writes catch its galleries up, so there is nothing to listen for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from biometrics.feed import NOTIFY_CHANNEL
from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.models import Biometric, TemplateChange
from registry.models import utcnow

log = logging.getLogger("guardid.replication")

# How long the listener waits for a notification before checking whether to stop (s).
LISTEN_POLL_S = 0.5
# Pause before reconnecting after the listening connection failed (s), doubling up to the max.
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.2, 5.0
# The listening session's application_name, so an operator (and pg_stat_activity) can see it.
LISTENER_NAME = "guardid-listener"


@dataclass(frozen=True)
class GalleryLag:
    """How far one gallery is behind the change feed."""

    modality: str
    size: int  # templates searchable now
    applied_seq: int  # highest change seq applied
    pending: int  # committed changes of its modality not applied yet
    lag_s: float  # age of the oldest of them (0 when none)


@dataclass(frozen=True)
class ReplicaStatus:
    """The head of the feed and each gallery's lag; ``reason`` says why it is not ready."""

    head_seq: int
    galleries: tuple[GalleryLag, ...]
    reason: str | None

    @property
    def ready(self) -> bool:
        """True while every gallery is within the lag bound."""
        return self.reason is None


def gallery_lag(db_session: Session, gallery: FaceGallery | FingerGallery) -> GalleryLag:
    """Return how many committed changes of the gallery's modality it has not applied."""
    pending, oldest = db_session.execute(
        select(func.count(), func.min(TemplateChange.at))
        .join(Biometric, Biometric.id == TemplateChange.biometric_id)
        .where(TemplateChange.seq > gallery.seq, Biometric.modality == gallery.modality)).one()
    lag = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return GalleryLag(modality=gallery.modality.value, size=len(gallery.owner),
                      applied_seq=gallery.seq, pending=int(pending), lag_s=max(lag, 0.0))


def status(db_session: Session, galleries: tuple[FaceGallery | FingerGallery, ...], *,
           max_lag_s: float, max_changes: int) -> ReplicaStatus:
    """Return the feed head, each gallery's lag and whether it is beyond the bound."""
    head = db_session.scalar(select(func.max(TemplateChange.seq))) or 0
    lags = tuple(gallery_lag(db_session, g) for g in galleries)
    reason = None
    for lag in lags:
        if lag.pending > max_changes:
            reason = (f"the {lag.modality} gallery is {lag.pending} changes behind "
                      f"(bound {max_changes})")
        elif lag.pending and lag.lag_s > max_lag_s:
            reason = (f"the {lag.modality} gallery has not applied a change for "
                      f"{lag.lag_s:.1f} s (bound {max_lag_s:g} s)")
    return ReplicaStatus(head_seq=int(head), galleries=lags, reason=reason)


class Listener:
    """A thread that LISTENs on the feed's channel and calls ``catch_up`` on each burst."""

    def __init__(self, engine: Engine, catch_up: Callable[[], None]):
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._catch_up = catch_up
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guardid-listener", daemon=True)
        self.catch_ups = 0  # catch-ups a notification triggered
        self.reconnects = 0

    def start(self) -> Listener:
        """Start listening; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (within one poll interval)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        """Listen until stopped, reconnecting with a growing pause after an error."""
        pause = RECONNECT_MIN_S
        while not self._stop.is_set():
            try:
                self._listen()
                pause = RECONNECT_MIN_S
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect, never die
                self.reconnects += 1
                log.warning("change listener failed, reconnecting",
                            extra={"error": type(exc).__name__})
                self._stop.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)

    def _listen(self) -> None:
        """One connection: LISTEN, catch up what a reconnect may have missed, then follow."""
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True,
                             application_name=LISTENER_NAME) as conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._catch_up()
            while not self._stop.is_set():
                if not list(conn.notifies(timeout=LISTEN_POLL_S, stop_after=1)):
                    continue
                list(conn.notifies(timeout=0.001))  # a burst of commits: one catch-up
                self._catch_up()
                self.catch_ups += 1


def listener_for(engine: Engine, sessions: Callable[[], Session], vault,  # noqa: ANN001
                 galleries: tuple[FaceGallery | FingerGallery, ...], *,
                 on_change: Callable[[], None] | None = None) -> Listener | None:
    """Return a started listener keeping ``galleries`` in step (None on SQLite); it calls
    ``on_change`` first on each burst (the Milvus indexer's wake-up)."""
    if engine.dialect.name != "postgresql":
        return None

    def catch_up() -> None:
        if on_change is not None:
            on_change()
        with sessions() as session:
            for gallery in galleries:
                if not gallery.loading:  # the loader catches up once it has loaded
                    gallery.catch_up(session, vault)

    return Listener(engine, catch_up).start()

