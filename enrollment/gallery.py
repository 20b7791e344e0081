"""The galleries the service searches: FAISS indexes kept current from the database.

The database is the truth. Every committed template writes a row to ``template_changes``;
each gallery replays that sequence from where it stopped, so start-up (replay from zero), a
crash between a commit and the index update, and other replicas' writes all converge.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.models import Biometric, Modality, TemplateChange
from matching.face import FaceTemplate
from matching.finger import FingerprintEngine, FingerprintTemplate
from matching.finger.index import FingerIndex
from matching.index import FaceIndex
from registry.crypto import Vault
from registry.db import read_session

FACE_TEMPLATE_PURPOSE = "biometric.face.template"
FINGER_TEMPLATE_PURPOSE = "biometric.finger.template"


@dataclass(frozen=True)
class GuardHit:
    """The best-scoring template of one guard."""

    guard_id: int
    biometric_id: int
    score: float


class _Gallery:
    """Replays ``template_changes`` of one modality into an index (subclasses say how)."""

    modality: Modality
    purpose: str

    def __init__(self) -> None:
        self.owner: dict[int, int] = {}  # biometric id -> guard id
        self.seq = 0
        self._lock = threading.Lock()

    def _decode(self, raw: bytes) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _add(self, ids: list[int], templates: list[Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _remove(self, ids: list[int]) -> None:  # pragma: no cover
        raise NotImplementedError

    def catch_up(self, db_session: Session, vault: Vault) -> int:
        """Apply every template change after the last one seen; return how many.

        Reads through its own snapshot session, so a long catch-up (a cold start replaying
        every enrolment) never holds the caller's write lock.
        """
        with self._lock, read_session(db_session.get_bind()) as reader:
            return self._apply(reader, vault)

    def _apply(self, db_session: Session, vault: Vault) -> int:
        """Replay the changes after ``self.seq`` (consecutive adds in one batch)."""
        rows = db_session.execute(
            select(TemplateChange.seq, TemplateChange.op, Biometric)
            .join(Biometric, Biometric.id == TemplateChange.biometric_id)
            .where(TemplateChange.seq > self.seq, Biometric.modality == self.modality)
            .order_by(TemplateChange.seq)).all()
        ids: list[int] = []
        templates: list[Any] = []
        for seq, op, bio in rows:
            if op == "add":
                raw = vault.decrypt(db_session, bio.template_enc, purpose=self.purpose)
                ids.append(bio.id)
                templates.append(self._decode(raw))
                self.owner[bio.id] = bio.guard_id
            else:
                self._flush(ids, templates)
                self._remove([bio.id])
                self.owner.pop(bio.id, None)
            self.seq = seq
        self._flush(ids, templates)
        last = db_session.scalar(select(TemplateChange.seq).order_by(
            TemplateChange.seq.desc()).limit(1))
        self.seq = max(self.seq, last or 0)  # other modalities advance the sequence too
        return len(rows)

    def _flush(self, ids: list[int], templates: list[Any]) -> None:
        """Add the pending templates in one call and clear the lists."""
        if ids:
            self._add(list(ids), list(templates))
            ids.clear()
            templates.clear()

    def _per_guard(self, hits: list[tuple[int, float]], exclude_guard: int | None
                   ) -> list[GuardHit]:
        """Keep each guard's best hit, best first."""
        best: dict[int, GuardHit] = {}
        for bio_id, score in hits:
            guard = self.owner.get(bio_id)
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

    def _decode(self, raw: bytes) -> np.ndarray:
        return FaceTemplate.from_bytes(raw).vector

    def _add(self, ids: list[int], templates: list[np.ndarray]) -> None:
        self.index.add(ids, np.vstack(templates))

    def _remove(self, ids: list[int]) -> None:
        self.index.remove(ids)

    def search(self, vector: np.ndarray, *, threshold: float, k: int = 20,
               exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a template at or above ``threshold``, best first, one per guard."""
        hits = self.index.search(vector, k=k, threshold=threshold)[0]
        return self._per_guard([(h.id, h.score) for h in hits], exclude_guard)


class FingerGallery(_Gallery):
    """Fingerprint templates of every enrolled finger of every guard, searchable 1:N."""

    modality, purpose = Modality.finger, FINGER_TEMPLATE_PURPOSE

    def __init__(self, engine: FingerprintEngine | None = None):
        super().__init__()
        self.index = FingerIndex(engine)

    def _decode(self, raw: bytes) -> FingerprintTemplate:
        return FingerprintTemplate.from_bytes(raw)

    def _add(self, ids: list[int], templates: list[FingerprintTemplate]) -> None:
        self.index.add(ids, templates)

    def _remove(self, ids: list[int]) -> None:
        self.index.remove(ids)

    def search(self, template: FingerprintTemplate, *, threshold: float | None = None,
               k: int = 20, exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a finger at or above ``threshold``, best first, one per guard."""
        hits = self.index.search(template, k=k, threshold=threshold)
        return self._per_guard([(h.id, h.score) for h in hits], exclude_guard)
