"""The galleries the service searches: FAISS indexes kept current from the database.

The database is the truth. Every committed template writes a row to the change feed
(``biometrics.feed``); each gallery reads the feed from where it stopped, so start-up (replay
from zero), a crash between a commit and the index update, and other replicas' writes all
converge, and a change a slow transaction commits late is still read.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.codes import PARALLEL_MIN, CodeBuilder
from biometrics.exceptions import GalleryLoading
from biometrics.models import Modality
from biometrics.purposes import FACE_TEMPLATE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from matching import snapshot
from matching.face import FaceTemplate
from matching.finger import FingerprintEngine, FingerprintTemplate
from matching.finger.engine import Matcher
from matching.finger.index import FingerIndex, Mode
from matching.index import FaceIndex
from registry.crypto import Vault
from registry.db import read_session

# Templates a gallery keeps from its latest catch-ups, so a commit under the de-duplication
# lock searches only what arrived since its search outside the lock (enrollment.dedup); a
# commit whose search is older than these falls back to searching the whole gallery.
RECENT_KEEP = 20_000
# Up to this many fingers applied since a commit's search outside the lock are compared with it
# in full, one by one, under the lock (exact, and no code index to build for a handful:
# 1-2 ms a finger); more than this get a code index like the whole gallery's.
NEWER_FINGERS_IN_FULL = 64
# A start-up replay logs its progress every this many changes.
PROGRESS_EVERY = 50_000

log = logging.getLogger("guardid.galleries")


@dataclass(frozen=True)
class GuardHit:
    """The best-scoring template of one guard."""

    guard_id: int
    biometric_id: int
    score: float


class _Gallery:
    """Replays the change feed of one modality into an index (subclasses say how)."""

    modality: Modality
    purpose: str

    def __init__(self) -> None:
        self.owner: dict[int, int] = {}  # biometric id -> guard id
        self.cursor = feed.Cursor()
        self.generation = 0  # catch-ups that applied something
        self._recent: deque[tuple[int, int, Any]] = deque(maxlen=RECENT_KEEP)
        self._lock = threading.Lock()
        # Start-up load (biometrics.loader): while True, catch_up refuses (GalleryLoading).
        self.loading = False
        self.phase = "ready"
        self.loaded = 0  # changes the load has applied
        self.to_load: int | None = None  # changes it expects (an estimate)

    def _decode(self, raw: bytes) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _add(self, ids: list[int], templates: list[Any],
             positions: list[int] | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def _remove(self, ids: list[int]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _empty(self) -> _Gallery:  # pragma: no cover - overridden
        raise NotImplementedError

    def since(self, generation: int) -> Any:
        """Return a gallery (``search`` and ``owner``) of the live templates applied after
        ``generation``.

        None when some of them are no longer kept (the caller searches the whole gallery).
        """
        with self._lock:
            if (len(self._recent) == self._recent.maxlen and self._recent
                    and self._recent[0][0] > generation):
                return None
            newer = {b: t for g, b, t in self._recent
                     if g > generation and b in self.owner}
            return self._of(newer, {b: self.owner[b] for b in newer})

    def _of(self, templates: dict[int, Any], owner: dict[int, int]) -> Any:
        """Return a searchable gallery of just ``templates`` (biometric id -> template)."""
        out = self._empty()
        if templates:
            out._add(list(templates), list(templates.values()))
            out.owner = owner
        return out

    def catch_up(self, db_session: Session, vault: Vault) -> int:
        """Apply every template change after the last one seen; return how many.

        Reads through its own snapshot session, so a long catch-up (a cold start replaying
        every enrolment) never holds the caller's write lock. Raises GalleryLoading while the
        start-up load (biometrics.loader) has not finished: nothing half-built is searched.
        """
        self.require_loaded()
        with self._lock, read_session(db_session.get_bind()) as reader:
            return self._apply(reader, vault)

    def require_loaded(self) -> None:
        """Raise GalleryLoading while the start-up load has not finished."""
        if self.loading:
            raise GalleryLoading(f"the {self.modality.value} gallery is still loading; "
                                 "retry shortly", progress=self.progress())

    def progress(self) -> dict:
        """Return how far the load has got (changes applied; an estimate of the total)."""
        return {"modality": self.modality.value, "phase": self.phase,
                "applied": self.loaded, "total": self.to_load}

    def replay(self, db_engine: Engine, vault: Vault, *,
               stop: threading.Event | None = None) -> int:
        """Apply the changes after the cursor for the start-up load (``loading`` or not);
        counts them in ``loaded``; returns -1 when ``stop`` was set before the end."""
        with self._lock, read_session(db_engine) as reader:
            return self._apply(reader, vault, stop=stop)

    def _apply(self, db_session: Session, vault: Vault, *,
               stop: threading.Event | None = None) -> int:
        """Bring the index to the state of every change the feed has not given it yet, one
        streamed batch at a time (feed.Reading)."""
        reading = feed.Reading(db_session, self.cursor, self.modality)
        n = 0
        for changes in reading:
            if stop is not None and stop.is_set():
                return -1  # the cursor stays: whatever was applied is applied again later
            self._apply_batch(changes, db_session, vault)
            n += len(changes)
            self.loaded += len(changes)
            if stop is not None and n % PROGRESS_EVERY < len(changes):
                log.info("gallery replay progress", extra={
                    "modality": self.modality.value, "applied": self.loaded,
                    "total": self.to_load})
        self.cursor = reading.cursor
        return n

    def _apply_batch(self, changes: list[feed.Change], db_session: Session, vault: Vault
                     ) -> None:
        """Apply one batch of changes (each biometric's state as the reader's snapshot sees
        it, so a batch applied twice leaves the gallery right)."""
        latest = {c.biometric_id: c for c in changes}
        live = [c for c in latest.values() if c.live]
        templates = [self._decode(vault.decrypt(db_session, c.template_enc,
                                                purpose=self.purpose)) for c in live]
        gone = [b for b, c in latest.items() if not c.live]
        if gone:
            self._remove(gone)
        if live:
            self._add([c.biometric_id for c in live], templates,
                      [c.position for c in live])
        for b in gone:
            self.owner.pop(b, None)
        self.owner.update((c.biometric_id, c.guard_id) for c in live)
        if changes:
            self.generation += 1
            self._recent.extend((self.generation, c.biometric_id, t)
                                for c, t in zip(live, templates, strict=True))

    def snapshot_state(self) -> tuple[snapshot.Packed, dict, feed.Cursor]:
        """Return (index snapshot parts, owner arrays as bytes, cursor), taken at one
        instant under the gallery's lock (biometrics.snapshots encrypts and writes them)."""
        with self._lock:
            ids = np.fromiter(self.owner, np.int64, len(self.owner))
            guards = np.fromiter(self.owner.values(), np.int64, len(self.owner))
            return (self.index.to_parts(self.cursor.seq),
                    {"owner_ids": ids.tobytes(), "owner_guards": guards.tobytes()},
                    self.cursor)

    def restore(self, index: Any, owner: dict[int, int], cursor: feed.Cursor) -> None:
        """Take a loaded snapshot's index, owners and cursor as this gallery's state."""
        with self._lock:
            self.index, self.owner, self.cursor = index, owner, cursor
            self._recent.clear()
            self.generation += 1

    def settings_signature(self) -> dict:  # pragma: no cover - overridden
        """Return what a snapshot must have been made with to be loaded here."""
        raise NotImplementedError

    def index_from_bytes(self, data: bytes) -> tuple[Any, int]:  # pragma: no cover
        """Return (index, seq) from a snapshot's index bytes."""
        raise NotImplementedError

    @property
    def seq(self) -> int:
        """The highest change seq this gallery has applied."""
        return self.cursor.seq

    def _per_guard(self, hits: list[tuple[int, float]], exclude_guard: int | None
                   ) -> list[GuardHit]:
        """Keep each guard's best hit, best first."""
        return _per_guard(self.owner, hits, exclude_guard)


def _per_guard(owner: dict[int, int], hits: list[tuple[int, float]],
               exclude_guard: int | None) -> list[GuardHit]:
    """Keep each guard's best hit (biometric id -> guard by ``owner``), best first."""
    best: dict[int, GuardHit] = {}
    for bio_id, score in hits:
        guard = owner.get(bio_id)
        if guard is None or guard == exclude_guard:
            continue
        if guard not in best or score > best[guard].score:
            best[guard] = GuardHit(guard, bio_id, score)
    return sorted(best.values(), key=lambda h: -h.score)


class FaceGallery(_Gallery):
    """Face templates of every enrolled guard, searchable 1:N."""

    modality, purpose = Modality.face, FACE_TEMPLATE_PURPOSE

    def __init__(self, *, mode: str = "exact"):
        super().__init__()
        self.index = FaceIndex(mode=mode)

    def _empty(self) -> FaceGallery:
        return FaceGallery()

    def _decode(self, raw: bytes) -> np.ndarray:
        return FaceTemplate.from_bytes(raw).vector

    def _add(self, ids: list[int], templates: list[np.ndarray],
             positions: list[int] | None = None) -> None:
        self.index.add(ids, np.vstack(templates))

    def settings_signature(self) -> dict:
        """Return the index mode a snapshot must have been made with."""
        return {"kind": "face", "mode": self.index.mode, "dim": self.index.dim}

    def index_from_bytes(self, data: bytes) -> tuple[FaceIndex, int]:
        """Return (face index, seq) from a snapshot's index bytes."""
        return FaceIndex.from_bytes(data)

    def _remove(self, ids: list[int]) -> None:
        self.index.remove(ids)

    def search(self, vector: np.ndarray, *, threshold: float, k: int = 20,
               exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a template at or above ``threshold``, best first, one per guard."""
        if not self.owner:
            return []
        hits = self.index.search(vector, k=k, threshold=threshold)[0]
        return self._per_guard([(h.id, h.score) for h in hits], exclude_guard)


class FingerGallery(_Gallery):
    """Fingerprint templates of every enrolled finger of every guard, searchable 1:N."""

    modality, purpose = Modality.finger, FINGER_TEMPLATE_PURPOSE

    def __init__(self, engine: FingerprintEngine | None = None, *, mode: Mode = "flat"):
        super().__init__()
        self.index = FingerIndex(engine, mode=mode)
        self.builder: CodeBuilder | None = None  # set by the loader while it replays

    def _empty(self) -> FingerGallery:
        return FingerGallery(self.index.engine)  # the few newer fingers: an exact scan

    def _of(self, templates: dict[int, FingerprintTemplate], owner: dict[int, int]
            ) -> FingerGallery | FingerSet:
        if len(templates) > NEWER_FINGERS_IN_FULL:
            return super()._of(templates, owner)
        return FingerSet(self.index.engine, templates, owner)

    def _decode(self, raw: bytes) -> FingerprintTemplate:
        return FingerprintTemplate.from_bytes(raw)

    def _add(self, ids: list[int], templates: list[FingerprintTemplate],
             positions: list[int] | None = None) -> None:
        # The database's position puts each finger in its ISO position partition; a big
        # batch of a start-up load gets its codes from the loader's processes.
        packed = None
        if self.builder is not None and len(templates) >= PARALLEL_MIN:
            packed = self.builder.codes(templates, self.index.per_finger)
        self.index.add(ids, templates, positions=positions, packed=packed)

    def settings_signature(self) -> dict:
        """Return the matching parameters and code layout a snapshot must have been made with."""
        params = hashlib.sha256(repr(self.index.engine.params).encode()).hexdigest()
        return {"kind": "finger", "params": params, "bits": self.index.bits,
                "per_finger": self.index.per_finger, "mode": self.index.mode}

    def index_from_bytes(self, data: bytes) -> tuple[FingerIndex, int]:
        """Return (finger index, seq) from a snapshot's index bytes."""
        return FingerIndex.from_bytes(data, self.index.engine)

    def _remove(self, ids: list[int]) -> None:
        self.index.remove(ids)

    def search(self, template: FingerprintTemplate, *, threshold: float | None = None,
               k: int = 20, exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a finger at or above ``threshold``, best first, one per guard."""
        if not self.owner:
            return []
        hits = self.index.search(template, k=k, threshold=threshold)
        return self._per_guard([(h.id, h.score) for h in hits], exclude_guard)


class FingerSet:
    """A handful of fingers searched by comparing the probe with each one in full (exact)."""

    def __init__(self, engine: FingerprintEngine, templates: dict[int, FingerprintTemplate],
                 owner: dict[int, int]):
        self.engine, self.templates, self.owner = engine, templates, owner

    def search(self, template: FingerprintTemplate, *, threshold: float | None = None,
               k: int = 20, exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a finger at or above ``threshold``, best first, one per guard."""
        if not self.templates:
            return []
        ids = list(self.templates)
        scores = Matcher(template, self.engine).match_many([self.templates[b] for b in ids])
        hits = [(b, s) for b, s in zip(ids, scores.tolist(), strict=True)
                if threshold is None or s >= threshold]
        return _per_guard(self.owner, hits, exclude_guard)[:k]


# Either gallery, as the loader and the snapshots handle them.
Gallery = FaceGallery | FingerGallery
