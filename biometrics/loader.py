"""Start-up loading of the galleries in the background, and their snapshots while serving.

The server binds its port at once; this thread loads each gallery (its snapshot, then the
changes after it; or, with no usable snapshot, a rebuild from the change feed), and only then
lets searches in (``_Gallery.loading``; a search before that gets GalleryLoading, a 503). While
the server runs it writes a gallery's snapshot after a rebuild, every ``interval_s`` when the
gallery changed, and once more at shutdown, given up after ``shutdown_s`` so a stopping server
never hangs on it. The runtime owns the thread: ``stop`` ends and joins it, and nothing it
started runs after that.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from biometrics import snapshots
from biometrics.codes import PARALLEL_MIN, CodeBuilder
from biometrics.replication import gallery_lag
from registry.crypto import Vault

if TYPE_CHECKING:
    from biometrics.gallery import Gallery

log = logging.getLogger("guardid.galleries")

# Pause before trying the load again after it failed (the database not reachable yet) (s).
RETRY_PAUSE_S = 2.0


class GalleryLoader:
    """A thread that loads the galleries, then keeps their snapshots current."""

    def __init__(self, *, engine: Engine, sessions: sessionmaker[Session], vault: Vault,
                 galleries: tuple[Gallery, ...], snapshot_dir: Path | None, interval_s: float,
                 shutdown_s: float, warm_up: Callable[[], None] | None = None,
                 chunk_bytes: int = snapshots.CHUNK_BYTES, code_processes: int = 0):
        self.engine, self.sessions, self.vault = engine, sessions, vault
        self.galleries, self.snapshot_dir = galleries, snapshot_dir
        self.interval_s, self.shutdown_s = interval_s, shutdown_s
        self.warm_up, self.chunk_bytes = warm_up, chunk_bytes
        self.code_processes = code_processes  # processes building a big rebuild's codes
        self.report: dict[str, dict] = {}  # modality -> how it was loaded (source, tail, s)
        self.loaded = threading.Event()
        self._stop = threading.Event()
        self._written: dict[str, int] = {}  # modality -> gallery generation last written
        self._thread = threading.Thread(target=self._run, name="guardid-gallery-loader",
                                        daemon=True)

    def start(self) -> GalleryLoader:
        """Mark the galleries loading and start the thread; return self."""
        for g in self.galleries:
            g.loading, g.phase, g.loaded, g.to_load = True, "waiting", 0, None
        self._thread.start()
        return self

    def status(self) -> dict | None:
        """Return the load's progress per gallery, or None once every gallery is loaded."""
        if self.loaded.is_set():
            return None
        return {"galleries": [g.progress() for g in self.galleries]}

    def stop(self) -> None:
        """Stop the thread (writing the final snapshots within ``shutdown_s``) and join it."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        """Load (retrying while the database is not reachable), then write snapshots."""
        while not self._stop.is_set():
            try:
                if self._load_all():
                    break
                return  # stopped while loading: nothing complete to write
            except Exception as exc:  # noqa: BLE001 - a thread that dies never gets ready
                log.error("gallery load failed, retrying", extra={"error": type(exc).__name__})
                self._stop.wait(RETRY_PAUSE_S)
        if not self.loaded.is_set():
            return
        while not self._stop.wait(self.interval_s):
            self._write_changed(deadline=None)
        self._write_changed(deadline=time.monotonic() + self.shutdown_s)

    def _load_all(self) -> bool:
        """Load every gallery; return False when stopped before the end."""
        if self.warm_up is not None:
            try:
                self.warm_up()
            except Exception as exc:  # noqa: BLE001 - the galleries load all the same
                log.error("model warm-up failed", extra={"error": type(exc).__name__})
            self.warm_up = None  # once, even when the gallery load is retried
        for g in self.galleries:
            if not self._load(g):
                return False
        for g in self.galleries:
            g.loading, g.phase = False, "ready"
        self.loaded.set()
        for g in self.galleries:  # after a rebuild, so the next start loads it (once serving)
            if self.report[g.modality.value]["source"] == "rebuild":
                self._write(g, deadline=None)
        try:
            with self.sessions() as session:  # what committed while the last one finished
                for g in self.galleries:
                    g.catch_up(session, self.vault)
        except Exception as exc:  # noqa: BLE001 - the next search catches up anyway
            log.warning("catch-up after loading failed", extra={"error": type(exc).__name__})
        return True

    def _load(self, gallery: Gallery) -> bool:
        """Load one gallery from its snapshot and the tail, or rebuild it from the feed."""
        t0, modality = time.monotonic(), gallery.modality.value
        gallery.phase, source, seq = "snapshot", "rebuild", None
        if self.snapshot_dir is not None:
            with self.sessions() as session:
                got = snapshots.load_or_none(self.snapshot_dir, gallery, session=session,
                                             vault=self.vault)
                if got is not None:
                    gallery.restore(got.index, got.owner, got.cursor)
                    source, seq = "snapshot", got.seq
                session.rollback()
        with self.sessions() as session:
            gallery.to_load = gallery_lag(session, gallery).pending
        gallery.phase = "replay"
        log.info("gallery loading", extra={"modality": modality, "source": source,
                                           "changes": gallery.to_load})
        tail = self._replay(gallery)
        if tail < 0:
            return False
        if source == "snapshot" and tail == 0:
            self._written[modality] = gallery.generation  # its snapshot is current
        self.report[modality] = {"source": source, "snapshot_seq": seq, "tail": tail,
                                 "size": len(gallery.owner),
                                 "seconds": round(time.monotonic() - t0, 3)}
        log.info("gallery loaded", extra={"modality": modality, **self.report[modality]})
        return True

    def _replay(self, gallery: Gallery) -> int:
        """Replay the gallery's tail; a big finger tail gets its codes built on every core."""
        if not (self.code_processes > 1 and hasattr(gallery, "builder")
                and (gallery.to_load or 0) >= PARALLEL_MIN):
            return gallery.replay(self.engine, self.vault, stop=self._stop)
        with CodeBuilder(gallery.index.engine.params, processes=self.code_processes) as b:
            gallery.builder = b
            try:
                return gallery.replay(self.engine, self.vault, stop=self._stop)
            finally:
                gallery.builder = None

    def _write_changed(self, *, deadline: float | None) -> None:
        """Write the snapshot of every gallery that changed since its last one."""
        for g in self.galleries:
            if self._written.get(g.modality.value) != g.generation:
                self._write(g, deadline=deadline)

    def _write(self, gallery: Gallery, *, deadline: float | None) -> None:
        """Write one gallery's snapshot (when configured); a failure is logged, not raised."""
        if self.snapshot_dir is None:
            return
        generation, t0 = gallery.generation, time.monotonic()
        try:
            with self.sessions() as session:
                path = snapshots.write(self.snapshot_dir, gallery, session=session,
                                       vault=self.vault, chunk_bytes=self.chunk_bytes,
                                       deadline=deadline)
                session.rollback()  # a writer reads; it never makes a data key
        except Exception as exc:  # noqa: BLE001 - the previous snapshot stays usable
            log.error("gallery snapshot failed", extra={"modality": gallery.modality.value,
                                                        "error": type(exc).__name__})
            return
        if path is not None:
            self._written[gallery.modality.value] = generation
            log.info("gallery snapshot written", extra={
                "modality": gallery.modality.value, "seq": gallery.seq,
                "seconds": round(time.monotonic() - t0, 3)})
