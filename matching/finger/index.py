"""1:N fingerprint search: binary MCC codes in a FAISS binary index pick candidates, then
full MCC re-ranks them.

Each finger contributes up to ``CYLINDERS_PER_FINGER`` cylinders (its most reliable
minutiae), each as a bit vector (a cell is 1 where its value exceeds one half). A probe's
cylinders each fetch their nearest codes by Hamming distance; every hit votes for its
finger, and the best-voted ``shortlist`` fingers are compared in full. The share of searches
whose exhaustive best match survives into the shortlist (the hit rate) is measured against
exhaustive matching in bench/finger_index.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import faiss
import numpy as np

from matching.finger.engine import FingerprintEngine, Matcher
from matching.finger.template import FingerprintTemplate

CYLINDERS_PER_FINGER = 24
NEIGHBOURS_PER_CYLINDER = 64
DEFAULT_SHORTLIST = 30
# Codes are sparse; a nearly empty one is close in Hamming distance to every other sparse
# code, so cylinders with fewer set bits than this share are not indexed.
MIN_SET_BITS = 0.01


@dataclass(frozen=True)
class FingerHit:
    """A candidate finger and its full MCC score."""

    id: int
    score: float
    votes: float


def codes(engine: FingerprintEngine, template: FingerprintTemplate,
          limit: int = CYLINDERS_PER_FINGER) -> np.ndarray:
    """Return the packed binary codes (n, bytes) of a template's most reliable cylinders."""
    cyl = engine.cylinders(template, cache=False)  # indexing a gallery must not fill the cache
    if not len(cyl):
        return np.zeros((0, cyl.values.shape[1] // 8), np.uint8)
    bits = cyl.values > 0.5
    dense = bits.mean(1) >= MIN_SET_BITS
    order = np.argsort(-(cyl.minutiae[:, 4] * cyl.valid.mean(1) * dense), kind="stable")
    order = order[dense[order]][:limit]
    return np.packbits(bits[order], axis=1)


def popcounts(packed: np.ndarray) -> np.ndarray:
    """Return the number of set bits of each packed code."""
    return np.unpackbits(packed, axis=1).sum(1).astype(np.float32)


class FingerIndex:
    """Templates by id, searchable 1:N; thread-safe (one lock, searches are short)."""

    def __init__(self, engine: FingerprintEngine | None = None, *,
                 cylinders_per_finger: int = CYLINDERS_PER_FINGER):
        self.engine = engine or FingerprintEngine()
        p = self.engine.params
        self.bits = p.mcc_ns * p.mcc_ns * p.mcc_nd
        self.per_finger = cylinders_per_finger
        self.index = faiss.IndexBinaryFlat(self.bits)
        self.row_owner: list[int] = []
        self.row_bits = np.zeros(0, np.float32)
        self.templates: dict[int, FingerprintTemplate] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.templates)

    def add(self, ids: list[int], templates: list[FingerprintTemplate]) -> None:
        """Add templates under ``ids`` (an id already present is replaced)."""
        with self._lock:
            batch, owners = [], []
            for i, t in zip(ids, templates, strict=True):
                self.templates[int(i)] = t
                c = codes(self.engine, t, self.per_finger)
                batch.append(c)
                owners += [int(i)] * len(c)
            if owners:
                packed = np.ascontiguousarray(np.vstack(batch))
                self.index.add(packed)
                self.row_owner += owners
                self.row_bits = np.concatenate([self.row_bits, popcounts(packed)])

    def remove(self, ids: list[int]) -> None:
        """Remove templates; their codes stay in FAISS but no longer vote."""
        with self._lock:
            for i in ids:
                self.templates.pop(int(i), None)

    def candidates(self, probe: FingerprintTemplate, shortlist: int) -> list[tuple[int, float]]:
        """Return the ``shortlist`` ids with the most Hamming-neighbour votes, best first."""
        q = codes(self.engine, probe, self.per_finger)
        if not len(q) or not self.row_owner:
            return []
        k = min(NEIGHBOURS_PER_CYLINDER, len(self.row_owner))
        dist, rows = self.index.search(np.ascontiguousarray(q), k)
        # Bit-based MCC similarity of each hit (Cappelli et al.): 1 - sqrt(hamming) /
        # (sqrt(|a|) + sqrt(|b|)); unlike raw Hamming distance it does not favour sparse codes.
        qbits = popcounts(q)[:, None]
        sim = 1 - np.sqrt(dist) / (np.sqrt(qbits) + np.sqrt(self.row_bits[np.maximum(rows, 0)])
                                   + 1e-9)
        votes: dict[int, float] = {}
        owner = self.row_owner
        for s_row, r_row in zip(sim, rows, strict=True):
            best: dict[int, float] = {}
            for s, r in zip(s_row, r_row, strict=True):
                if r >= 0 and (fid := owner[r]) in self.templates:
                    best[fid] = max(best.get(fid, 0.0), float(s))  # one vote per finger
            for fid, s in best.items():
                votes[fid] = votes.get(fid, 0.0) + max(0.0, s) ** 2
        return sorted(votes.items(), key=lambda kv: -kv[1])[:shortlist]

    def search(self, probe: FingerprintTemplate, k: int = 10, *,
               shortlist: int = DEFAULT_SHORTLIST, threshold: float | None = None
               ) -> list[FingerHit]:
        """Return up to ``k`` fingers re-ranked by full MCC, at or above ``threshold``."""
        with self._lock:
            cands = self.candidates(probe, shortlist)
            scores = Matcher(probe, self.engine).match_many(
                [self.templates[fid] for fid, _ in cands])
            hits = [FingerHit(fid, float(s), v) for (fid, v), s in zip(cands, scores,
                                                                       strict=True)]
        hits.sort(key=lambda h: -h.score)
        if threshold is not None:
            hits = [h for h in hits if h.score >= threshold]
        return hits[:k]

    def exhaustive(self, probe: FingerprintTemplate, k: int = 10) -> list[FingerHit]:
        """Return the best ``k`` fingers by comparing the probe with every template."""
        with self._lock:
            fids = list(self.templates)
            scores = Matcher(probe, self.engine).match_many([self.templates[f] for f in fids])
            hits = [FingerHit(fid, float(s), 0.0) for fid, s in zip(fids, scores, strict=True)]
        return sorted(hits, key=lambda h: -h.score)[:k]
