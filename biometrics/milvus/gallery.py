"""Each server's view of the Milvus galleries: Milvus for what the indexer has applied, a small
local index for the feed's tail it has not applied yet.

A gallery still reads the change feed (its owners: biometric -> guard, the same view as an
embedded gallery's), but a change the indexer has already applied (``feed.covers`` of the
indexer's cursor, read in the same snapshot) only updates the owners: its template is not
decrypted or held here. A change the indexer has not applied goes into the local index
(an embedded FaceIndex / FingerIndex of those few templates) until the indexer's cursor passes
it. A search asks Milvus as of the Milvus timestamp saved with that cursor (it sees every write
the cursor covers; Strong when none is known), drops what this view no longer holds or holds
newer locally, and merges the local index's hits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.gallery import FaceGallery, FingerGallery, GuardHit
from biometrics.milvus.indexer import load_cursor, written_ts
from biometrics.milvus.store import MilvusStore
from biometrics.models import Biometric
from biometrics.purposes import FINGER_TEMPLATE_PURPOSE
from matching.finger import FingerprintEngine, FingerprintTemplate
from matching.finger.candidates import bit_similarity, code_scores, vote
from matching.finger.engine import Matcher
from matching.finger.index import (
    FULL_RERANK,
    NEIGHBOURS_PER_CYLINDER,
    POOL_SIZE,
    FingerHit,
    codes,
    popcounts,
)
from registry.crypto import Vault

# Fetches finger templates by biometric id from the system of record (decrypted), for the
# shortlist's full comparisons.
TemplateSource = Callable[[list[int]], dict[int, FingerprintTemplate]]


class _MilvusView:
    """What both Milvus galleries add to an embedded gallery: the tail bookkeeping."""

    store: MilvusStore
    index: Any
    owner: dict[int, int]

    def _init_view(self, store: MilvusStore) -> None:
        self.store = store
        self.indexed = feed.Cursor()  # the indexer's cursor, as the last catch-up read it
        self.indexed_ts = 0  # the Milvus timestamp of the writes it covers (0: read Strong)
        self.pending: dict[int, feed.Change] = {}  # in the local index, not yet in Milvus
        self._replaying = False  # the start-up load: nothing kept for since()

    def replay(self, db_engine, vault: Vault, *, stop=None) -> int:  # noqa: ANN001
        """The start-up load: what Milvus holds only sets owners (nothing is decrypted)."""
        self._replaying = True
        try:
            return super().replay(db_engine, vault, stop=stop)
        finally:
            self._replaying = False

    def _apply(self, db_session: Session, vault: Vault, *, stop=None) -> int:  # noqa: ANN001
        """Read the indexer's cursor in the same snapshot, then apply the feed."""
        self.indexed = load_cursor(db_session, self.modality)
        self.indexed_ts = written_ts(db_session, self.modality)
        n = super()._apply(db_session, vault, stop=stop)
        gone = [b for b, c in self.pending.items() if feed.covers(self.indexed, c)]
        if gone:
            self._remove(gone)
            for b in gone:
                self.pending.pop(b, None)
        return n

    def _apply_batch(self, changes: list[feed.Change], db_session: Session, vault: Vault
                     ) -> None:
        """Owners only for what Milvus already holds; the local index for the rest."""
        latest = {c.biometric_id: c for c in changes}
        indexed = [c for c in latest.values() if feed.covers(self.indexed, c)]
        tail = [c for c in changes if not feed.covers(self.indexed, latest[c.biometric_id])]
        if indexed:
            held = [c.biometric_id for c in indexed if c.biometric_id in self.pending]
            if held:
                self._remove(held)
            for c in indexed:
                self.pending.pop(c.biometric_id, None)
                if c.live:
                    self.owner[c.biometric_id] = c.guard_id
                else:
                    self.owner.pop(c.biometric_id, None)
            self.generation += 1
            if not self._replaying:  # a catch-up: keep them for since() (a commit's lock)
                self._recent.extend(
                    (self.generation, c.biometric_id, self._decode(vault.decrypt(
                        db_session, c.template_enc, purpose=self.purpose)))
                    for c in indexed if c.live)
        if tail:
            super()._apply_batch(tail, db_session, vault)
            for c in tail:
                self.pending[c.biometric_id] = c

    def snapshot_state(self):  # noqa: ANN201
        """Milvus galleries are not snapshotted (Milvus persists its own segments)."""
        raise NotImplementedError("a Milvus gallery has no snapshot")

    def _visible(self, bio: int) -> bool:
        """Whether a Milvus hit counts: this view holds it, and not newer in the tail."""
        return bio in self.owner and bio not in self.pending


class MilvusFaceGallery(_MilvusView, FaceGallery):
    """Face templates searched in Milvus, plus the tail the indexer has not applied."""

    def __init__(self, store: MilvusStore):
        FaceGallery.__init__(self)
        self._init_view(store)

    def search(self, vector: np.ndarray, *, threshold: float, k: int = 20,
               exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a template at or above ``threshold``, best first, one per guard."""
        if not self.owner:
            return []
        hits = [(b, s) for b, s in self.store.search_faces(vector, k + len(self.pending),
                                                            ts=self.indexed_ts)
                if s >= threshold and self._visible(b)]
        if self.pending:
            hits += [(h.id, h.score) for h in
                     self.index.search(vector, k=k, threshold=threshold)[0]]
        return self._per_guard(hits, exclude_guard)[:k]


class MilvusFingerGallery(_MilvusView, FingerGallery):
    """Finger codes searched in Milvus (then guardid's own votes, code scores and full MCC
    over templates read from the database for the shortlist only), plus the tail."""

    def __init__(self, store: MilvusStore, fetch: TemplateSource,
                 engine: FingerprintEngine | None = None):
        FingerGallery.__init__(self, engine)
        self._init_view(store)
        self.fetch = fetch

    def search(self, template: FingerprintTemplate, *, threshold: float | None = None,
               k: int = 20, exclude_guard: int | None = None) -> list[GuardHit]:
        """Return guards with a finger at or above ``threshold``, best first, one per guard."""
        if not self.owner:
            return []
        engine = self.index.engine
        q = codes(engine, template, 0, cache=True)
        hits = [(h.id, h.score) for h in self._milvus(template, q)
                if threshold is None or h.score >= threshold]
        if self.pending:
            hits += [(h.id, h.score) for h in
                     self.index.search(template, k=k, threshold=threshold)]
        return self._per_guard(hits, exclude_guard)[:k]

    def _milvus(self, template: FingerprintTemplate, q: np.ndarray) -> list:
        """Return the full-MCC hits of the Milvus candidates: votes by the nearest stored
        codes, the POOL_SIZE best-voted scored by their codes, FULL_RERANK compared in full."""
        probe = q[:self.index.per_finger]
        positions = None if not template.position else [template.position, 0]
        near = self.store.search_codes(probe, NEIGHBOURS_PER_CYLINDER, positions,
                                       ts=self.indexed_ts)
        if not near:
            return []
        width = NEIGHBOURS_PER_CYLINDER
        owner = np.full((len(probe), width), -1, np.int64)
        dist = np.zeros((len(probe), width), np.float32)
        bits = np.ones((len(probe), width), np.float32)
        fill = np.zeros(len(probe), np.int64)
        for h in near:
            j = fill[h.probe_row]
            owner[h.probe_row, j], dist[h.probe_row, j], bits[h.probe_row, j] = (
                h.biometric_id, h.distance, h.bits)
            fill[h.probe_row] += 1
        ok = (owner >= 0) & np.vectorize(self._visible, otypes=[bool])(owner)
        sim = bit_similarity(dist, popcounts(probe)[:, None], bits)
        pool = vote(sim, owner, ok, max(FULL_RERANK, POOL_SIZE))
        stored = self.store.finger_codes([fid for fid, _ in pool], positions,
                                         ts=self.indexed_ts)
        empty = np.zeros((0, q.shape[1]), np.uint8)
        scores = code_scores(self.index.engine.params, q,
                             [stored.get(f, empty) for f, _ in pool])
        chosen = [pool[i] for i in np.argsort(-scores, kind="stable")[:FULL_RERANK]]
        templates = self.fetch([fid for fid, _ in chosen])
        chosen = [(f, v) for f, v in chosen if f in templates]
        full = Matcher(template, self.index.engine).match_many([templates[f] for f, _ in chosen])
        return [FingerHit(f, float(s), v) for (f, v), s in zip(chosen, full, strict=True)]



def db_templates(sessions: Callable[[], Session], vault: Vault) -> TemplateSource:
    """Return a TemplateSource reading current finger templates from the database."""

    def fetch(ids: list[int]) -> dict[int, FingerprintTemplate]:
        if not ids:
            return {}
        with sessions() as s:
            rows = s.execute(select(Biometric.id, Biometric.template_enc).where(
                Biometric.id.in_(ids), Biometric.superseded_at.is_(None))).all()
            return {r.id: FingerprintTemplate.from_bytes(vault.decrypt(
                s, r.template_enc, purpose=FINGER_TEMPLATE_PURPOSE)) for r in rows}

    return fetch
