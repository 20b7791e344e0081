"""1:N fingerprint search: binary MCC codes in a FAISS binary index pick candidates, then
full MCC re-ranks them.

Each finger contributes up to ``CYLINDERS_PER_FINGER`` cylinders (its most reliable
minutiae), each as a bit vector (a cell is 1 where its value exceeds one half). A probe's
cylinders each fetch their nearest codes by Hamming distance; every hit votes for its
finger; the best-voted fingers are ordered by a bit-based MCC score over their stored codes,
and the best of those are compared in full. The share of searches whose mate (and whose
exhaustive best match) survives into the shortlist is measured in bench/finger_speed.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import faiss
import numpy as np

from matching.finger import mcc
from matching.finger.engine import FingerprintEngine, Matcher
from matching.finger.template import FingerprintTemplate

CYLINDERS_PER_FINGER = 24
NEIGHBOURS_PER_CYLINDER = 64
# A search narrows the gallery in three steps. 1) Votes: every probe code fetches its nearest
# stored codes by Hamming distance and votes for their fingers; the best-voted POOL fingers
# (0.1% of the gallery, at least POOL_MIN, at most POOL_MAX) go on. 2) Code scores: those are
# ordered by a bit-based MCC score over all their stored codes (~5 ms per 100 fingers) and
# the best FULL_RERANK go on. 3) Full MCC (~1.2 ms per finger whose cylinders are not cached)
# ranks those. Chosen on synthetic seeds kept apart from the benchmark's (bench/finger_speed.py
# reports on others): at 100k fingers the mate of 98.4% of gated probes was among the 30
# best-voted, of 99.0% among the 100 best-voted, and the code scores kept all of those 99.0%
# within their best 30.
POOL_MIN = 100
POOL_MAX = 1000
POOL_PENETRATION = 0.001
FULL_RERANK = 30
# Codes are sparse; a nearly empty one is close in Hamming distance to every other sparse
# code, so cylinders with fewer set bits than this share are not indexed.
MIN_SET_BITS = 0.01
# Codes of a replaced or removed finger stop voting at once and leave FAISS when the index is
# rebuilt from the live codes: once dead codes are this share of all (and at least
# COMPACT_MIN_DEAD), so a re-extraction of every finger costs one rebuild, not a double index.
COMPACT_DEAD_SHARE = 0.25
COMPACT_MIN_DEAD = 1024


@dataclass(frozen=True)
class FingerHit:
    """A candidate finger and its full MCC score."""

    id: int
    score: float
    votes: float


def codes(engine: FingerprintEngine, template: FingerprintTemplate,
          limit: int = CYLINDERS_PER_FINGER, *, cache: bool = False) -> np.ndarray:
    """Return the packed binary codes (n, bytes) of a template's most reliable cylinders
    (all of them when ``limit`` is 0), most reliable first. Indexing a gallery must not fill
    the cylinder cache; a probe's cylinders are cached for the full comparison that follows."""
    cyl = engine.cylinders(template, cache=cache)
    if not len(cyl):
        return np.zeros((0, cyl.values.shape[1] // 8), np.uint8)
    bits = cyl.values > 0.5
    dense = bits.mean(1) >= MIN_SET_BITS
    order = np.argsort(-(cyl.minutiae[:, 4] * cyl.valid.mean(1) * dense), kind="stable")
    order = order[dense[order]][:limit or None]
    return np.packbits(bits[order], axis=1)


def popcounts(packed: np.ndarray) -> np.ndarray:
    """Return the number of set bits of each packed code."""
    return np.unpackbits(packed, axis=1).sum(1).astype(np.float32)


def bit_similarity(hamming: np.ndarray, bits_a: np.ndarray, bits_b: np.ndarray) -> np.ndarray:
    """Return the bit-based MCC similarity (Cappelli et al.) 1 - sqrt(hamming) / (sqrt(|a|) +
    sqrt(|b|)); unlike raw Hamming distance it does not favour sparse codes."""
    return 1 - np.sqrt(hamming) / (np.sqrt(bits_a) + np.sqrt(bits_b) + 1e-9)


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
        self.rows: dict[int, tuple[int, int]] = {}  # id -> (first row, count) of its codes
        self.row_bits = np.zeros(0, np.float32)
        self.row_live = np.zeros(0, bool)  # False: the code of a replaced or removed finger
        self.templates: dict[int, FingerprintTemplate] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.templates)

    def add(self, ids: list[int], templates: list[FingerprintTemplate]) -> None:
        """Add templates under ``ids`` (an id already present is replaced)."""
        with self._lock:
            batch, owners = [], []
            for i, t in zip(ids, templates, strict=True):
                self._retire(int(i))
                self.templates[int(i)] = t
                c = codes(self.engine, t, self.per_finger)
                self.rows[int(i)] = (self.index.ntotal + len(owners), len(c))
                batch.append(c)
                owners += [int(i)] * len(c)
            if owners:
                packed = np.ascontiguousarray(np.vstack(batch))
                self.index.add(packed)
                self.row_owner += owners
                self.row_bits = np.concatenate([self.row_bits, popcounts(packed)])
                self.row_live = np.concatenate([self.row_live, np.ones(len(owners), bool)])
            self._compact_if_due()

    def remove(self, ids: list[int]) -> None:
        """Remove templates; their codes stop voting at once (and leave FAISS at compaction)."""
        with self._lock:
            for i in ids:
                self._retire(int(i))
                self.templates.pop(int(i), None)
            self._compact_if_due()

    def _retire(self, fid: int) -> None:
        """Mark the codes ``fid`` holds now as dead."""
        start, count = self.rows.pop(fid, (0, 0))
        self.row_live[start:start + count] = False

    def _compact_if_due(self) -> None:
        """Rebuild FAISS from the live codes when enough are dead (COMPACT_DEAD_SHARE)."""
        dead = len(self.row_live) - int(self.row_live.sum())
        if dead >= max(COMPACT_MIN_DEAD, COMPACT_DEAD_SHARE * len(self.row_live)):
            self.compact()

    def compact(self) -> None:
        """Rebuild the FAISS index from the live codes only (rows renumbered)."""
        with self._lock:
            live = self.row_live
            codes_now = np.ascontiguousarray(self.stored_codes()[live])
            dead_before = np.concatenate([[0], np.cumsum(~live)])  # dead rows before a row
            self.rows = {fid: (start - int(dead_before[start]), count)
                         for fid, (start, count) in self.rows.items()}
            self.row_owner = [o for o, keep in zip(self.row_owner, live, strict=True) if keep]
            self.row_bits = self.row_bits[live]
            self.row_live = np.ones(len(codes_now), bool)
            self.index = faiss.IndexBinaryFlat(self.bits)
            if len(codes_now):
                self.index.add(codes_now)

    def candidates(self, probe: FingerprintTemplate, shortlist: int) -> list[tuple[int, float]]:
        """Return the ``shortlist`` ids with the most Hamming-neighbour votes, best first."""
        return self._votes(codes(self.engine, probe, self.per_finger), shortlist)

    def _votes(self, q: np.ndarray, shortlist: int) -> list[tuple[int, float]]:
        """Return :meth:`candidates` for the probe's packed codes ``q``."""
        if not len(q) or not self.row_owner:
            return []
        k = min(NEIGHBOURS_PER_CYLINDER, len(self.row_owner))
        dist, rows = self.index.search(np.ascontiguousarray(q), k)
        sim = bit_similarity(dist, popcounts(q)[:, None], self.row_bits[np.maximum(rows, 0)])
        votes: dict[int, float] = {}
        owner, live = self.row_owner, self.row_live
        for s_row, r_row in zip(sim, rows, strict=True):
            best: dict[int, float] = {}
            for s, r in zip(s_row, r_row, strict=True):
                if r >= 0 and live[r]:
                    fid = owner[r]
                    best[fid] = max(best.get(fid, 0.0), float(s))  # one vote per finger
            for fid, s in best.items():
                votes[fid] = votes.get(fid, 0.0) + max(0.0, s) ** 2
        return sorted(votes.items(), key=lambda kv: -kv[1])[:shortlist]

    def stored_codes(self) -> np.ndarray:
        """Return the packed codes FAISS holds, as an (ntotal, bytes) view (no copy)."""
        size = self.index.ntotal * self.index.code_size
        if not size:
            return np.zeros((0, self.index.code_size), np.uint8)
        flat = faiss.rev_swig_ptr(self.index.xb.data(), size)
        return flat.reshape(self.index.ntotal, self.index.code_size)

    def code_scores(self, probe: FingerprintTemplate, ids: list[int]) -> np.ndarray:
        """Return a bit-based MCC score (LSS over the stored codes) per id: a cheap
        re-ranking of the voted candidates before full MCC."""
        return self._code_scores(codes(self.engine, probe, 0), ids)

    def _code_scores(self, packed: np.ndarray, ids: list[int]) -> np.ndarray:
        """Return :meth:`code_scores` for all the probe's packed codes."""
        if not len(packed) or not ids:
            return np.zeros(len(ids))
        q = np.unpackbits(packed, axis=1).astype(np.float32)
        stored = self.stored_codes()
        spans = [self.rows.get(i, (0, 0)) for i in ids]
        width = max(c for _, c in spans) or 1
        take = np.zeros((len(ids), width), np.int64)
        present = np.zeros((len(ids), width), bool)
        for j, (start, count) in enumerate(spans):
            take[j, :count] = np.arange(start, start + count)
            present[j, :count] = True
        g = np.unpackbits(stored[take.ravel()], axis=1).astype(np.float32)
        qn, gn = q.sum(1), self.row_bits[take.ravel()]
        ham = np.maximum(qn[:, None] + gn[None, :] - 2 * q @ g.T, 0)
        sim = bit_similarity(ham, qn[:, None], gn[None, :])
        sim = np.where(present.ravel()[None, :], sim, 0).reshape(len(q), len(ids), width)
        per_id = np.sort(sim.transpose(1, 0, 2).reshape(len(ids), -1), axis=1)[:, ::-1]
        top = [mcc.pairs_to_use(len(q), max(1, c), self.engine.params) for _, c in spans]
        return np.array([per_id[j, :n].mean() for j, n in enumerate(top)])

    def pool_size(self) -> int:
        """Return how many best-voted fingers a search scores by their codes."""
        wanted = int(np.ceil(POOL_PENETRATION * len(self.templates)))
        return min(POOL_MAX, max(POOL_MIN, wanted))

    def shortlist(self, probe: FingerprintTemplate, size: int = FULL_RERANK
                  ) -> list[tuple[int, float]]:
        """Return the ``size`` fingers to compare in full, as (id, votes): the best-voted
        :meth:`pool_size` fingers, ordered by their code scores."""
        q = codes(self.engine, probe, 0, cache=True)  # the probe's codes, built once
        with self._lock:
            pool = self._votes(q[:self.per_finger], max(size, self.pool_size()))
            scores = self._code_scores(q, [fid for fid, _ in pool])
        return [pool[i] for i in np.argsort(-scores, kind="stable")[:size]]

    def search(self, probe: FingerprintTemplate, k: int = 10, *,
               shortlist: int = FULL_RERANK, threshold: float | None = None
               ) -> list[FingerHit]:
        """Return up to ``k`` fingers re-ranked by full MCC, at or above ``threshold``;
        ``shortlist`` fingers (see :meth:`shortlist`) are compared in full."""
        with self._lock:
            cands = self.shortlist(probe, shortlist)
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
