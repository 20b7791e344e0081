"""MinHash banding over the set bits of packed binary codes: candidate codes for a probe
code without a scan of the whole gallery.

A binary MCC code is a sparse set of cells; the bit-based MCC similarity of two codes grows
with their set overlap, which MinHash estimates (Broder): under a random ordering of the
cells, the first cell set in both codes' orderings is the same with probability equal to
their Jaccard overlap. ``per_band`` such minima form one band signature, and a stored code
is a candidate for a probe code when they share the signature of at least one of ``bands``
bands: a pair of overlap J collides with probability 1 - (1 - J^per_band)^bands, steep in J,
so mates collide and most fillers do not. Each band is a sorted array of (signature, row):
a lookup is a binary search, and the rows it returns are the only ones compared.

Codes added since the last sort wait in a small unsorted tail (compared by equality) until it
reaches ``PENDING_MIN`` codes or ``PENDING_SHARE`` of the sorted ones, so that enrolling one
finger costs no re-sort and a bulk load costs one.
"""

from __future__ import annotations

import numpy as np

# Codes hashed per chunk (memory ~ SPARSE_CHUNK x (bits + 2 x orderings) bytes), in blocks of
# SPARSE_BLOCK codes of similar popcount (padding to the block's widest code costs little).
SPARSE_CHUNK = 32_768
SPARSE_BLOCK = 1_024
# The unsorted tail is merged into the sorted bands once it holds this many codes, or this
# share of the sorted ones (whichever is larger): amortised O(log n) work per added code.
PENDING_MIN = 4_096
PENDING_SHARE = 0.05
_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd 64-bit constant (Fibonacci hashing)


def expand(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Return the concatenation of the ranges [lo[i], hi[i]) as one index array."""
    lengths = hi - lo
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(total)


def nearest(probe: np.ndarray, row: np.ndarray, dist: np.ndarray, n_probes: int, k: int,
            repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each probe's ``k`` nearest distinct rows among (probe, row, distance) pairs
    in which a row repeats at most ``repeats`` times, as (distances (n_probes, k) int32,
    rows (n_probes, k) int64, -1 where none); ties keep the pairs' order."""
    out_d = np.full((n_probes, k), np.iinfo(np.int32).max, np.int32)
    out_r = np.full((n_probes, k), -1, np.int64)
    if not len(probe):
        return out_d, out_r
    key = probe * (int(dist.max()) + 1) + dist  # by probe, then distance
    small = int(key.max()) < 2 ** 16  # 16-bit keys sort by radix, in linear time
    order = np.argsort(key.astype(np.uint16 if small else np.int64), kind="stable")
    probe, row, dist = probe[order], row[order], dist[order]
    for margin in (k * repeats, k):  # the first pass keeps room for repeats, the second k
        rank = np.arange(len(probe)) - np.searchsorted(probe, np.arange(n_probes))[probe]
        keep = rank < margin
        probe, row, dist = probe[keep], row[keep], dist[keep]
        if margin > k:  # drop repeats, keeping the order
            first = np.sort(np.unique(probe * (int(row.max()) + 1) + row, return_index=True)[1])
            probe, row, dist = probe[first], row[first], dist[first]
    out_d[probe, rank[keep]], out_r[probe, rank[keep]] = dist, row
    return out_d, out_r


class MinHasher:
    """Band signatures (n, bands) uint32 of packed codes, from ``bands * per_band``
    random orderings of the ``bits`` cells."""

    def __init__(self, bits: int, bands: int, per_band: int, seed: int, *,
                 orders: np.ndarray | None = None):
        self.bits, self.bands, self.per_band = bits, bands, per_band
        if orders is None:
            rng = np.random.default_rng(seed)
            orders = np.stack([rng.permutation(bits) for _ in range(bands * per_band)])
        self.orders = np.asarray(orders, np.uint16).reshape(bands * per_band, bits)
        # _ranks[cell, h]: where ``cell`` comes in ordering h (the inverse permutations)
        # and a last row for padding, ranked after every cell
        ranks = np.argsort(self.orders, axis=1).T.astype(np.uint16)
        self._ranks = np.vstack([ranks, np.full((1, len(self.orders)), bits, np.uint16)])

    def signatures(self, packed: np.ndarray) -> np.ndarray:
        """Return each code's band signatures, (n, bands) uint32 (an empty code gets
        the signature of 'no cell set', which the index never stores: codes are dense
        enough by MIN_SET_BITS)."""
        out = np.zeros((len(packed), self.bands), np.uint32)
        for at in range(0, len(packed), SPARSE_CHUNK):
            out[at:at + SPARSE_CHUNK] = self.fold(self.minima(packed[at:at + SPARSE_CHUNK]),
                                                  self.bands, self.per_band)
        return out

    def minima(self, packed: np.ndarray) -> np.ndarray:
        """Return each code's minimum under every ordering, (n, orderings) uint16.

        A minimum of an ordering is the smallest rank, under it, of the code's set cells:
        codes are taken in blocks of similar popcount, their set cells padded to the
        block's widest with a cell ranked last, and the rank rows of the j-th set cells
        folded with a running minimum, so the work is proportional to the set bits."""
        firsts = np.zeros((len(packed), len(self.orders)), np.uint16)
        bits = np.unpackbits(packed, axis=1, count=self.bits)
        counts = bits.sum(1, dtype=np.int64)
        by_count = np.argsort(counts, kind="stable")
        for lo in range(0, len(bits), SPARSE_BLOCK):
            rows = by_count[lo:lo + SPARSE_BLOCK]
            rows = rows[counts[rows] > 0]  # empty codes keep minima 0 (argmax's answer)
            if not len(rows):
                continue
            code, cell = np.nonzero(bits[rows])
            pad = np.full((len(rows), int(counts[rows].max())), self.bits, np.int64)
            starts = np.concatenate([[0], np.cumsum(counts[rows])[:-1]])
            pad[code, np.arange(len(cell)) - starts[code]] = cell
            acc = self._ranks[pad[:, 0]]  # a copy (fancy indexing)
            for j in range(1, pad.shape[1]):
                np.minimum(acc, self._ranks[pad[:, j]], out=acc)
            firsts[rows] = acc
        return firsts

    def fold(self, minima: np.ndarray, bands: int, per_band: int) -> np.ndarray:
        """Return (n, bands) uint32 signatures from the first ``bands * per_band`` columns
        of :meth:`minima` (``per_band`` consecutive minima a band), hashed."""
        base = np.uint64(self.bits + 1)
        grouped = minima[:, :bands * per_band].reshape(len(minima), bands, per_band)
        key = np.zeros((len(minima), bands), np.uint64)
        for j in range(per_band):  # as key = key * (bits + 1) + minimum, per band
            key = key * base + grouped[:, :, j].astype(np.uint64)
        return ((key * _MIX) >> np.uint64(32)).astype(np.uint32)


class BandTable:
    """One partition's bands: per band, signatures sorted with their global rows, and an
    unsorted tail of recently added codes."""

    def __init__(self, bands: int, keys: np.ndarray | None = None,
                 rows: np.ndarray | None = None):
        self.bands = bands
        self.keys = np.zeros((bands, 0), np.uint32) if keys is None else keys
        self.rows = np.zeros((bands, 0), np.uint32) if rows is None else rows
        self._pend_keys: list[np.ndarray] = []
        self._pend_rows: list[np.ndarray] = []
        self._pending = 0

    def __len__(self) -> int:
        return self.keys.shape[1] + self._pending

    def add(self, signatures: np.ndarray, rows: np.ndarray) -> None:
        """Add codes (their (n, bands) signatures and global rows); sort when due."""
        self._pend_keys.append(np.asarray(signatures, np.uint32))
        self._pend_rows.append(np.asarray(rows, np.uint32))
        self._pending += len(rows)
        if self._pending >= max(PENDING_MIN, PENDING_SHARE * self.keys.shape[1]):
            self.flush()

    def flush(self) -> None:
        """Merge the tail into the sorted bands."""
        if not self._pending:
            return
        keys = np.concatenate([self.keys, np.vstack(self._pend_keys).T], axis=1)
        rows = np.concatenate([self.rows, np.broadcast_to(
            np.concatenate(self._pend_rows), (self.bands, self._pending))], axis=1)
        order = np.argsort(keys, axis=1, kind="stable")
        self.keys = np.take_along_axis(keys, order, 1)
        self.rows = np.take_along_axis(rows, order, 1)
        self._pend_keys, self._pend_rows, self._pending = [], [], 0

    def lookup(self, signatures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (probe code, global row) pairs that share a band signature (a pair once
        per band it shares)."""
        probes, rows = [], []
        for b in range(self.bands):
            keys, q = self.keys[b], signatures[:, b]
            lo, hi = np.searchsorted(keys, q, "left"), np.searchsorted(keys, q, "right")
            take = expand(lo, hi)
            probes.append(np.repeat(np.arange(len(q)), hi - lo))
            rows.append(self.rows[b, take].astype(np.int64))
        if self._pending:
            pk, pr = np.vstack(self._pend_keys), np.concatenate(self._pend_rows)
            for b in range(self.bands):
                i, j = np.nonzero(signatures[:, b, None] == pk[None, :, b])
                probes.append(i)
                rows.append(pr[j].astype(np.int64))
        return np.concatenate(probes), np.concatenate(rows)

    def renumber(self, live: np.ndarray, new_row: np.ndarray) -> None:
        """Drop the rows not ``live`` and renumber the others (order is kept)."""
        self.flush()
        if not self.keys.shape[1]:
            return
        keep = live[self.rows]  # (bands, n): the same count per band
        n = int(keep[0].sum())
        self.keys = self.keys[keep].reshape(self.bands, n)
        self.rows = new_row[self.rows[keep]].astype(np.uint32).reshape(self.bands, n)
