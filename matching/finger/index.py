"""1:N fingerprint search: binary MCC codes in FAISS binary indexes pick candidates, then
full MCC re-ranks them.

The codes are partitioned by ISO finger position (0: unknown): a probe of a known position
searches its position's partition and the unknown one; a probe of unknown position searches
them all. Each partition is a flat Hamming scan while small, and an inverted file
(``IndexBinaryIVF``, Hamming k-means lists) once it holds ``IVF_MIN_CODES`` codes; only the
``IVF_NPROBE`` nearest lists of each probe code are scanned. ``mode="flat"`` (the default)
keeps the exact flat scan per partition as the reference; ``mode="ivf"`` is NOT yet better:
sparse codes give very unbalanced lists (bench/finger_scale.py, BENCHMARKS.md).
``mode="lsh"`` replaces the scan by MinHash banding over the set bits of the codes
(``matching/finger/minhash.py``): a probe code is compared only with the stored codes that
share one of its band signatures, in its partitions; no FAISS index is held then.
The packed codes, their owners and popcounts live in numpy
arrays beside FAISS (the code scores read them), and :meth:`FingerIndex.to_bytes` writes all
of it, templates included, as one snapshot (``matching/snapshot.py``).

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
from typing import Literal

import faiss
import numpy as np

from matching import snapshot
from matching.exceptions import MatchingError, SnapshotError
from matching.finger.candidates import bit_similarity, code_scores, popcounts, vote
from matching.finger.engine import FingerprintEngine, Matcher
from matching.finger.minhash import BandTable, MinHasher, nearest
from matching.finger.packed import PackedTemplates, Rows
from matching.finger.template import FingerprintTemplate

CYLINDERS_PER_FINGER = 24
NEIGHBOURS_PER_CYLINDER = 64
# A search narrows the gallery in three steps. 1) Votes: every probe code fetches its nearest
# stored codes by Hamming distance and votes for their fingers; the best-voted POOL_SIZE
# fingers go on. 2) Code scores: those are ordered by a bit-based MCC score over all their
# stored codes (~5 ms per 100 fingers) and the best FULL_RERANK go on. 3) Full MCC (~1.2 ms
# per finger whose cylinders are not cached) ranks those. The pool was 0.1% of the gallery
# (100 to 1,000 fingers) until it was re-chosen at 1M fingers on tuning seeds (90,000, 300
# probes, lsh; bench/finger_pool_tune.py, BENCHMARKS.md): pools of 100, 200, 300, 500 and
# 1,000 kept exactly the same mates within the full comparisons (position known 99.7% of
# gated probes, unknown 99.0%), and 100 scores in 4.6 ms what 1,000 scores in 47 ms. At 100k
# fingers the mate of 98.4% of gated probes was among the 30 best-voted, of 99.0% among the
# 100 best-voted (bench/finger_speed.py, other seeds). The full comparisons were re-chosen the
# same way (bench/finger_pool_tune.py --fulls, tuning seeds 90,000, lsh, at 100k and at 1M
# fingers alike): 20 keep every gated mate that 30 kept with the position known (99.66%), 15
# or fewer lose one; position unknown 20 lose one probe of 291 (98.97% -> 98.63%). A full
# comparison costs ~1.2 ms, most of it building the candidate's cylinders (rarely cached): the
# ten dropped saved ~10 ms of a 43 ms median 100k search (held out, BENCHMARKS.md).
POOL_SIZE = 100
FULL_RERANK = 20
# Codes are sparse; a nearly empty one is close in Hamming distance to every other sparse
# code, so cylinders with fewer set bits than this share are not indexed.
MIN_SET_BITS = 0.01
# Codes of a replaced or removed finger stop voting at once and leave FAISS when the index is
# rebuilt from the live codes: once dead codes are this share of all (and at least
# COMPACT_MIN_DEAD), so a re-extraction of every finger costs one rebuild, not a double index.
COMPACT_DEAD_SHARE = 0.25
COMPACT_MIN_DEAD = 1024
# Inverted file per position partition (bench/finger_scale.py): a partition becomes an IVF of
# about IVF_CODES_PER_LIST codes per list (IVF_NLIST_MIN..IVF_NLIST_MAX lists) once it holds
# IVF_MIN_CODES codes; it is retrained when it has grown IVF_RETRAIN_GROWTH times since. The
# k-means trains on at most IVF_TRAIN_PER_LIST codes per list for IVF_TRAIN_ITERATIONS rounds.
# Each probe code scans its IVF_NPROBE nearest lists.
IVF_MIN_CODES = 50_000
IVF_CODES_PER_LIST = 2_000
IVF_NLIST_MIN = 64
IVF_NLIST_MAX = 1024
IVF_RETRAIN_GROWTH = 4.0
IVF_TRAIN_PER_LIST = 40
IVF_TRAIN_ITERATIONS = 10
IVF_NPROBE = 16
# MinHash banding (mode="lsh"): LSH_BANDS band signatures of LSH_PER_BAND minima each per
# code, from orderings drawn with LSH_SEED (stored in snapshots). A pair of codes of Jaccard
# overlap J shares a band with probability 1 - (1 - J^LSH_PER_BAND)^LSH_BANDS. Chosen on the
# tuning seeds (90,000, 60 probes, 100k fingers; bench/finger_lsh_tune.py): 12x2, 16x3, 24x4
# and 32x4 all kept the mate of every gated probe in the shortlist; 32x4 compared the fewest
# codes per probe code for the time (0.05% known / 0.46% unknown, against 10% / 100% flat)
# and has the most margin in J; it costs 8 bytes per code per band (BENCHMARKS.md).
LSH_BANDS = 32
LSH_PER_BAND = 4
LSH_SEED = 20
SNAPSHOT_KIND = "finger"
Mode = Literal["ivf", "flat", "lsh"]


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


@dataclass(frozen=True)
class SearchStats:
    """What a search's vote step touched: codes compared with the probe's codes (per probe
    code, mean) against all stored codes, and the partitions searched."""

    codes_scanned: float
    codes_stored: int
    partitions: tuple[int, ...]

    @property
    def touched_share(self) -> float:
        """Return the share of stored codes one probe code was compared with."""
        return self.codes_scanned / max(1, self.codes_stored)


class FingerIndex:
    """Templates by id, searchable 1:N; thread-safe (one lock, searches are short)."""

    def __init__(self, engine: FingerprintEngine | None = None, *,
                 cylinders_per_finger: int = CYLINDERS_PER_FINGER, mode: Mode = "flat",
                 nprobe: int = IVF_NPROBE, ivf_min_codes: int = IVF_MIN_CODES,
                 bands: int = LSH_BANDS, per_band: int = LSH_PER_BAND,
                 lsh_orders: np.ndarray | None = None):
        if mode not in ("ivf", "flat", "lsh"):
            raise MatchingError(f"unknown finger index mode {mode!r}", code="index_mode")
        self.engine = engine or FingerprintEngine()
        p = self.engine.params
        self.bits = p.mcc_ns * p.mcc_ns * p.mcc_nd
        self.per_finger = cylinders_per_finger
        self.mode, self.nprobe, self.ivf_min_codes = mode, nprobe, ivf_min_codes
        self._codes = Rows(np.uint8, self.bits // 8)  # packed code of each row
        self._owner = Rows(np.int64)  # finger id of each row
        self._bits = Rows(np.uint16)  # popcount of each row
        self._live = Rows(bool)  # False: the code of a replaced or removed finger
        self._part = Rows(np.uint8)  # position partition of each row
        self.rows: dict[int, tuple[int, int]] = {}  # id -> (first row, count) of its codes
        self.positions: dict[int, int] = {}  # id -> ISO position (0 unknown)
        self.templates = PackedTemplates()  # id -> template, built when read
        self.parts: dict[int, faiss.IndexBinary] = {}  # position -> FAISS over global rows
        self._trained_at: dict[int, int] = {}  # position -> codes when its IVF was trained
        self._sizes: dict[int, np.ndarray] = {}  # position -> IVF list sizes (a cache)
        # Only the lsh mode hashes (its random orderings are stored in snapshots).
        self.hasher = (MinHasher(self.bits, bands, per_band, LSH_SEED, orders=lsh_orders)
                       if mode == "lsh" else None)
        self.tables: dict[int, BandTable] = {}  # position -> MinHash bands (mode="lsh")
        self.last_stats: SearchStats | None = None
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.templates)

    @property
    def row_owner(self) -> np.ndarray:
        """Return the finger id of each stored code."""
        return self._owner.view

    @property
    def row_bits(self) -> np.ndarray:
        """Return the popcount of each stored code."""
        return self._bits.view

    @property
    def row_live(self) -> np.ndarray:
        """Return whether each stored code is live (its finger holds it now)."""
        return self._live.view

    def ntotal(self) -> int:
        """Return how many codes (live or dead) FAISS holds."""
        return self._codes.n

    def add(self, ids: list[int], templates: list[FingerprintTemplate], *,
            positions: list[int] | None = None, packed: list[np.ndarray] | None = None
            ) -> None:
        """Add templates under ``ids`` (an id already present is replaced); ``positions``
        default to the templates' own; ``packed`` may give their :func:`codes` ready-made
        (e.g. built in worker processes)."""
        pos = [t.position for t in templates] if positions is None else list(positions)
        made = packed if packed is not None else [
            codes(self.engine, t, self.per_finger) for t in templates]
        if not (len(ids) == len(templates) == len(pos) == len(made)):
            raise MatchingError("ids, templates, positions and codes must match",
                                code="vector_shape")
        with self._lock:
            self.templates.put_many(list(ids), list(templates))
            touched = set()
            for i, position, c in zip(ids, pos, made, strict=True):
                fid, position = int(i), int(position)
                self._retire(fid)
                self.positions[fid] = position
                start = self._codes.n
                self.rows[fid] = (start, len(c))
                if len(c):
                    self._codes.append(c)
                    self._owner.append(np.full(len(c), fid, np.int64))
                    self._bits.append(popcounts(c).astype(np.uint16))
                    self._live.append(np.ones(len(c), bool))
                    self._part.append(np.full(len(c), position, np.uint8))
                    touched.add(position)
            for position in touched:
                self._grow_partition(position)
            self._compact_if_due()

    def _grow_partition(self, position: int) -> None:
        """Give FAISS the new rows of a partition, (re)training its IVF when due."""
        if self.mode == "lsh":
            self._grow_table(position)
            return
        self._sizes.pop(position, None)
        index = self.parts.get(position)
        rows = np.flatnonzero(self._part.view == position)
        have = 0 if index is None else index.ntotal
        due = self.mode == "ivf" and len(rows) >= self.ivf_min_codes and (
            position not in self._trained_at
            or len(rows) >= IVF_RETRAIN_GROWTH * self._trained_at[position])
        if index is None or due:
            self.parts[position] = self._new_partition(rows if due else rows[:0])
            if due:
                self._trained_at[position] = len(rows)
            have = 0
        new = rows[have:]  # FAISS holds a partition's rows in row order
        if len(new):
            self.parts[position].add_with_ids(np.ascontiguousarray(self._codes.view[new]),
                                              new.astype(np.int64))

    def _grow_table(self, position: int) -> None:
        """Give a partition's MinHash bands its new rows (they hold its rows in row order)."""
        table = self.tables.setdefault(position, BandTable(self.hasher.bands))
        new = np.flatnonzero(self._part.view == position)[len(table):]
        if len(new):
            table.add(self.hasher.signatures(self._codes.view[new]), new)

    def _new_partition(self, train_rows: np.ndarray) -> faiss.IndexBinary:
        """Return an empty flat partition, or an IVF trained on a sample of ``train_rows``."""
        if not len(train_rows):
            return faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(self.bits))
        nlist = int(np.clip(len(train_rows) // IVF_CODES_PER_LIST, IVF_NLIST_MIN, IVF_NLIST_MAX))
        rng = np.random.default_rng(len(train_rows))
        take = min(len(train_rows), IVF_TRAIN_PER_LIST * nlist)
        sample = np.sort(rng.choice(train_rows, take, replace=False))
        quantizer = faiss.IndexBinaryFlat(self.bits)
        index = faiss.IndexBinaryIVF(quantizer, self.bits, nlist)
        index.referenced_objects = [quantizer]  # FAISS does not own it: keep it alive
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.cp.seed = 1234
        index.train(np.ascontiguousarray(self._codes.view[sample]))
        return index

    def remove(self, ids: list[int]) -> None:
        """Remove templates; their codes stop voting at once (and leave FAISS at compaction)."""
        with self._lock:
            for i in ids:
                self._retire(int(i))
                if int(i) in self.templates:
                    del self.templates[int(i)]
                self.positions.pop(int(i), None)
            self._compact_if_due()

    def _retire(self, fid: int) -> None:
        """Mark the codes ``fid`` holds now as dead."""
        start, count = self.rows.pop(fid, (0, 0))
        self._live.view[start:start + count] = False

    def _compact_if_due(self) -> None:
        """Rebuild FAISS from the live codes when enough are dead (COMPACT_DEAD_SHARE)."""
        dead = self._live.n - int(self._live.view.sum())
        if dead >= max(COMPACT_MIN_DEAD, COMPACT_DEAD_SHARE * self._live.n):
            self.compact()

    def compact(self) -> None:
        """Rebuild the FAISS partitions from the live codes only (rows renumbered); nothing
        to do when every code is live."""
        with self._lock:
            live = self._live.view.copy()
            if live.all():
                return
            dead_before = np.concatenate([[0], np.cumsum(~live)])  # dead rows before a row
            self.rows = {fid: (start - int(dead_before[start]), count)
                         for fid, (start, count) in self.rows.items()}
            new_row = np.arange(len(live)) - dead_before[:-1]
            for position in list(self.tables):
                self.tables[position].renumber(live, new_row)
                if not len(self.tables[position]):
                    del self.tables[position]
            for arr in (self._codes, self._owner, self._bits, self._part):
                arr.replace(arr.view[live])
            self._live.replace(np.ones(int(live.sum()), bool))
            self.parts, self._trained_at, self._sizes = {}, {}, {}
            for position in np.unique(self._part.view).tolist():
                self._grow_partition(int(position))

    def _search_parts(self, probe_position: int) -> list[int]:
        """Return the partitions a probe of ``probe_position`` searches."""
        have = self.tables if self.mode == "lsh" else self.parts
        if not probe_position:
            return sorted(have)
        return [p for p in (probe_position, 0) if p in have]

    def candidates(self, probe: FingerprintTemplate, shortlist: int, *,
                   position: int | None = None) -> list[tuple[int, float]]:
        """Return the ``shortlist`` ids with the most Hamming-neighbour votes, best first."""
        with self._lock:
            return self._votes(codes(self.engine, probe, self.per_finger), shortlist,
                               probe.position if position is None else position)

    def _neighbours(self, q: np.ndarray, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Return each probe code's nearest stored codes (distances, global rows; -1 none)
        over the partitions searched, and record what was touched."""
        if self.mode == "lsh":
            return self._lsh_neighbours(q, position)
        parts = self._search_parts(position)
        stored = sum(self.parts[p].ntotal for p in self.parts)
        k = NEIGHBOURS_PER_CYLINDER
        dists, rows, scanned = [], [], 0.0
        for p in parts:
            index = self.parts[p]
            if not index.ntotal:
                continue
            if isinstance(index, faiss.IndexBinaryIVF):
                nprobe = min(self.nprobe, index.nlist)
                index.nprobe = nprobe
                _, lists = index.quantizer.search(q, nprobe)
                sizes = self._sizes.get(p)
                if sizes is None:
                    sizes = self._sizes[p] = self._list_sizes(index)
                scanned += float(sizes[lists].sum(1).mean()) + index.nlist
            else:
                scanned += index.ntotal
            d, r = index.search(q, min(k, index.ntotal))
            dists.append(d)
            rows.append(r)
        self.last_stats = SearchStats(scanned, stored, tuple(parts))
        if not rows:
            return np.zeros((len(q), 0), np.int32), np.zeros((len(q), 0), np.int64)
        d, r = np.hstack(dists), np.hstack(rows)
        if len(rows) > 1:  # keep the k nearest over all partitions
            d = np.where(r >= 0, d, np.iinfo(np.int32).max)
            order = np.argsort(d, axis=1, kind="stable")[:, :k]
            d, r = np.take_along_axis(d, order, 1), np.take_along_axis(r, order, 1)
        return d, r

    def _lsh_neighbours(self, q: np.ndarray, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Return :meth:`_neighbours` over the live stored codes that share a MinHash band
        with each probe code, by exact Hamming distance; the codes compared are counted
        once per band shared (the work done)."""
        parts, n = self._search_parts(position), self._codes.n
        sig = self.hasher.signatures(q)
        found = [self.tables[p].lookup(sig) for p in parts]
        i = np.concatenate([f[0] for f in found] + [np.zeros(0, np.int64)])
        r = np.concatenate([f[1] for f in found] + [np.zeros(0, np.int64)])
        self.last_stats = SearchStats(len(r) / max(1, len(q)), n, tuple(parts))
        keep = self._live.view[r]
        i, r = i[keep], r[keep]
        word = np.uint64 if q.shape[1] % 8 == 0 else np.uint8  # popcount whole words
        ham = np.bitwise_count(self._codes.view.view(word)[r] ^ q.view(word)[i]).sum(1)
        return nearest(i, r, ham.astype(np.int64), len(q), NEIGHBOURS_PER_CYLINDER,
                       self.hasher.bands)

    @staticmethod
    def _list_sizes(index: faiss.IndexBinaryIVF) -> np.ndarray:
        """Return the number of codes in each inverted list."""
        inv = index.invlists
        return np.array([inv.list_size(i) for i in range(index.nlist)], np.int64)

    def _votes(self, q: np.ndarray, shortlist: int, position: int = 0
               ) -> list[tuple[int, float]]:
        """Return :meth:`candidates` for the probe's packed codes ``q``."""
        if not len(q) or not self._codes.n:
            return []
        dist, rows = self._neighbours(np.ascontiguousarray(q), position)
        safe = np.maximum(rows, 0)
        sim = bit_similarity(dist, popcounts(q)[:, None],
                             self._bits.view[safe].astype(np.float32))
        ok = (rows >= 0) & self._live.view[safe]
        return vote(sim, self._owner.view[safe], ok, shortlist)

    def stored_codes(self) -> np.ndarray:
        """Return the packed codes of every row, as an (ntotal, bytes) view (no copy)."""
        return self._codes.view

    def code_scores(self, probe: FingerprintTemplate, ids: list[int]) -> np.ndarray:
        """Return a bit-based MCC score (LSS over the stored codes) per id: a cheap
        re-ranking of the voted candidates before full MCC."""
        with self._lock:
            return self._code_scores(codes(self.engine, probe, 0), ids)

    def _code_scores(self, packed: np.ndarray, ids: list[int]) -> np.ndarray:
        """Return :meth:`code_scores` for all the probe's packed codes."""
        spans = [self.rows.get(i, (0, 0)) for i in ids]
        stored, bits = self._codes.view, self._bits.view
        return code_scores(self.engine.params, packed,
                           [stored[a:a + n] for a, n in spans],
                           [bits[a:a + n].astype(np.float32) for a, n in spans])

    def pool_size(self) -> int:
        """Return how many best-voted fingers a search scores by their codes."""
        return POOL_SIZE

    def shortlist(self, probe: FingerprintTemplate, size: int = FULL_RERANK, *,
                  position: int | None = None) -> list[tuple[int, float]]:
        """Return the ``size`` fingers to compare in full, as (id, votes): the best-voted
        :meth:`pool_size` fingers, ordered by their code scores. ``position`` (default: the
        probe's own; 0 unknown) picks the partitions searched."""
        q = codes(self.engine, probe, 0, cache=True)  # the probe's codes, built once
        with self._lock:
            pool = self._votes(q[:self.per_finger], max(size, self.pool_size()),
                               probe.position if position is None else position)
            scores = self._code_scores(q, [fid for fid, _ in pool])
        return [pool[i] for i in np.argsort(-scores, kind="stable")[:size]]

    def search(self, probe: FingerprintTemplate, k: int = 10, *,
               shortlist: int = FULL_RERANK, threshold: float | None = None,
               position: int | None = None) -> list[FingerHit]:
        """Return up to ``k`` fingers re-ranked by full MCC, at or above ``threshold``;
        ``shortlist`` fingers (see :meth:`shortlist`) are compared in full."""
        with self._lock:
            cands = self.shortlist(probe, shortlist, position=position)
            chosen = [self.templates[fid] for fid, _ in cands]
        # The full comparisons need no index state (templates are immutable): concurrent
        # searches run them side by side instead of one after another.
        scores = Matcher(probe, self.engine).match_many(chosen)
        hits = [FingerHit(fid, float(s), v) for (fid, v), s in zip(cands, scores, strict=True)]
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

    def to_bytes(self, seq: int) -> bytes:
        """Return a snapshot of the index (FAISS partitions, code sidecars, templates) that
        includes the template changes up to ``seq``; compacts first."""
        return self.to_parts(seq).tobytes()

    def to_parts(self, seq: int) -> snapshot.Packed:
        """Return :meth:`to_bytes` as parts that reference the index's own arrays (no copy of
        the codes or bands; they are never changed in place, only replaced)."""
        v = snapshot.view
        with self._lock:
            self.compact()
            cols = self.templates.columns()
            fids = cols["ids"]
            starts = np.array([self.rows.get(int(f), (0, 0))[0] for f in fids], np.int64)
            ncodes = np.array([self.rows.get(int(f), (0, 0))[1] for f in fids], np.int64)
            models = np.unique(cols["models"])
            parts = sorted(self.parts)
            blobs = {
                "ids": v(fids), "minutiae_counts": v(cols["minutiae_counts"].astype(np.int64)),
                "minutiae": v(cols["minutiae"]), "sizes": v(cols["sizes"]),
                "quality": v(cols["quality"]),
                "positions": np.array([self.positions[int(f)] for f in fids.tolist()],
                                      np.uint8).tobytes(),
                "row_starts": v(starts), "row_counts": v(ncodes),
                "codes": v(self._codes.view), "owners": v(self._owner.view),
                "popcounts": v(self._bits.view), "row_parts": v(self._part.view),
            }
            for p in parts:
                if self.mode != "flat":  # a flat partition is its codes: rebuilt at load
                    blobs[f"faiss_{p}"] = v(faiss.serialize_index_binary(self.parts[p]))
            for p, table in self.tables.items():
                table.flush()
                blobs[f"lsh_keys_{p}"], blobs[f"lsh_rows_{p}"] = (
                    v(table.keys), v(table.rows))
            lsh = {}
            if self.hasher is not None:
                blobs["lsh_orders"] = self.hasher.orders.tobytes()
                lsh = {"bands": self.hasher.bands, "per_band": self.hasher.per_band}
            meta = {"bits": self.bits, "per_finger": self.per_finger, "mode": self.mode,
                    "nprobe": self.nprobe, "ivf_min_codes": self.ivf_min_codes, **lsh,
                    "tables": sorted(self.tables),
                    "parts": parts, "trained_at": {str(p): n for p, n in
                                                   self._trained_at.items()},
                    "model_ids": [self.templates.models[int(m)] for m in models]}
            return snapshot.pack_parts(SNAPSHOT_KIND, seq, meta, blobs)

    @classmethod
    def from_bytes(cls, data: bytes, engine: FingerprintEngine | None = None
                   ) -> tuple[FingerIndex, int]:
        """Return (index, seq) from :meth:`to_bytes`; raise SnapshotError when the bytes are
        corrupt, truncated, foreign or of another version or code layout."""
        seq, meta, b = snapshot.unpack(data, SNAPSHOT_KIND)
        try:
            bands, per_band = meta.get("bands", LSH_BANDS), meta.get("per_band", LSH_PER_BAND)
            orders = (np.frombuffer(b["lsh_orders"], np.uint16).reshape(bands * per_band, -1)
                      if "lsh_orders" in b else None)
            index = cls(engine, cylinders_per_finger=meta["per_finger"], mode=meta["mode"],
                        nprobe=meta["nprobe"], ivf_min_codes=meta["ivf_min_codes"],
                        bands=bands, per_band=per_band, lsh_orders=orders)
            if index.bits != meta["bits"] or len(meta["model_ids"]) > 1:
                raise SnapshotError("index snapshot was made with other matching parameters")
            model = meta["model_ids"][0] if meta["model_ids"] else ""

            def arr(name: str, dtype: type) -> np.ndarray:
                return np.frombuffer(b[name], dtype).copy()

            fids, counts = arr("ids", np.int64), arr("minutiae_counts", np.int64)
            minutiae = np.frombuffer(b["minutiae"], np.float32).reshape(-1, 5).copy()
            sizes = np.frombuffer(b["sizes"], np.int32).reshape(-1, 2).copy()
            quality, positions = arr("quality", np.float64), arr("positions", np.uint8)
            starts, ncodes = arr("row_starts", np.int64), arr("row_counts", np.int64)
            offsets = np.concatenate([[0], np.cumsum(counts)])
            if not (len(fids) == len(counts) == len(sizes) == len(quality) == len(positions)
                    == len(starts) == len(ncodes)) or offsets[-1] != len(minutiae):
                raise SnapshotError("index snapshot arrays do not agree")
            index.templates = PackedTemplates.from_columns(  # positions: the index's own
                fids, minutiae, counts, sizes, quality, positions,
                np.zeros(len(fids), np.uint8), [model])
            index.positions = dict(zip(fids.tolist(), positions.tolist(), strict=True))
            index.rows = dict(zip(fids.tolist(), zip(starts.tolist(), ncodes.tolist(),
                                                     strict=True), strict=True))
            index._codes.replace(np.frombuffer(b["codes"], np.uint8).reshape(
                -1, index.bits // 8).copy())
            index._owner.replace(arr("owners", np.int64))
            index._bits.replace(arr("popcounts", np.uint16))
            index._part.replace(arr("row_parts", np.uint8))
            index._live.replace(np.ones(index._codes.n, bool))
            if not (index._codes.n == index._owner.n == index._bits.n == index._part.n):
                raise SnapshotError("index snapshot code arrays do not agree")
            for p in meta["parts"]:
                if index.mode == "flat" and f"faiss_{p}" not in b:
                    index._grow_partition(int(p))  # a copy of the codes, as FAISS holds them
                else:
                    index.parts[int(p)] = faiss.deserialize_index_binary(
                        np.frombuffer(b[f"faiss_{p}"], np.uint8))
            index._trained_at = {int(p): int(n) for p, n in meta["trained_at"].items()}
            for p in meta.get("tables", []):
                index.tables[int(p)] = BandTable(bands, *(
                    np.frombuffer(b[f"lsh_{what}_{p}"], np.uint32).reshape(bands, -1).copy()
                    for what in ("keys", "rows")))
            held = (sum(len(t) for t in index.tables.values()) if index.mode == "lsh" else
                    sum(x.ntotal for x in index.parts.values()))
            if held != index._codes.n:
                raise SnapshotError("index snapshot partitions do not hold its codes")
        except SnapshotError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise SnapshotError("index snapshot is inconsistent") from exc
        return index, seq
