"""The face gallery the service searches: a FAISS index kept current from the database.

The database is the truth. Every committed template writes a row to ``template_changes``;
the gallery replays that sequence from where it stopped, so start-up (replay from zero), a
crash between a commit and the index update, and other replicas' writes all converge.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.models import Biometric, Modality, TemplateChange
from matching.face import FaceTemplate
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


class FaceGallery:
    """Face templates of every enrolled guard, searchable 1:N."""

    def __init__(self, *, mode: str = "exact"):
        self.index = FaceIndex(mode=mode)
        self.owner: dict[int, int] = {}  # biometric id -> guard id
        self.seq = 0
        self._lock = threading.Lock()

    def catch_up(self, db_session: Session, vault: Vault) -> int:
        """Apply every template change after the last one seen; return how many.

        Reads through its own snapshot session, so a long catch-up (a cold start replaying
        every enrolment) never holds the caller's write lock.
        """
        with self._lock, read_session(db_session.get_bind()) as reader:
            return self._apply(reader, vault)

    def _apply(self, db_session: Session, vault: Vault) -> int:
        """Replay the changes after ``self.seq`` from ``db_session`` (adds in batches)."""
        rows = db_session.execute(
            select(TemplateChange.seq, TemplateChange.op, Biometric)
            .join(Biometric, Biometric.id == TemplateChange.biometric_id)
            .where(TemplateChange.seq > self.seq, Biometric.modality == Modality.face)
            .order_by(TemplateChange.seq)).all()
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        for seq, op, bio in rows:
            if op == "add":
                raw = vault.decrypt(db_session, bio.template_enc, purpose=FACE_TEMPLATE_PURPOSE)
                ids.append(bio.id)
                vectors.append(FaceTemplate.from_bytes(raw).vector)
                self.owner[bio.id] = bio.guard_id
            else:
                self._flush(ids, vectors)
                self.index.remove([bio.id])
                self.owner.pop(bio.id, None)
            self.seq = seq
        self._flush(ids, vectors)
        last = db_session.scalar(select(TemplateChange.seq).order_by(
            TemplateChange.seq.desc()).limit(1))
        self.seq = max(self.seq, last or 0)  # finger changes advance the sequence too
        return len(rows)

    def _flush(self, ids: list[int], vectors: list[np.ndarray]) -> None:
        """Add the pending templates to the index in one call and clear the lists."""
        if ids:
            self.index.add(ids, np.vstack(vectors))
            ids.clear()
            vectors.clear()

    def search(self, vector: np.ndarray, *, threshold: float, k: int = 20,
               exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a template at or above ``threshold``, best first, one per guard."""
        best: dict[int, GuardHit] = {}
        for hit in self.index.search(vector, k=k, threshold=threshold)[0]:
            guard = self.owner.get(hit.id)
            if guard is None or guard == exclude_guard:
                continue
            if guard not in best or hit.score > best[guard].score:
                best[guard] = GuardHit(guard, hit.id, hit.score)
        return sorted(best.values(), key=lambda h: -h.score)
