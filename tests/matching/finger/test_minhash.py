"""MinHash banding: collisions follow set overlap; the unsorted tail, the sorted bands and a
brute-force comparison agree; renumbering after compaction keeps the live rows only."""

from __future__ import annotations

import numpy as np
import pytest

from matching.finger.minhash import BandTable, MinHasher, expand, nearest


def _codes(rng, n, bits=384, density=0.15):
    return np.packbits(rng.random((n, bits)) < density, axis=1)


def test_expand_concatenates_ranges():
    assert expand(np.array([3, 10, 7]), np.array([5, 10, 9])).tolist() == [3, 4, 7, 8]


def test_single_minhash_collisions_estimate_the_jaccard_overlap():
    rng = np.random.default_rng(1)
    a = rng.random(384) < 0.2
    b = a.copy()
    b[np.flatnonzero(a)[:20]] = False  # drop 20 cells, add 20 others
    b[np.flatnonzero(~a)[:20]] = True
    jaccard = (a & b).sum() / (a | b).sum()
    hasher = MinHasher(384, bands=400, per_band=1, seed=3)
    sa, sb = hasher.signatures(np.packbits(np.stack([a, b]), axis=1))
    assert (sa == sb).mean() == pytest.approx(jaccard, abs=0.06)
    assert 0.3 < jaccard < 0.7  # a real test: neither always nor never


def _pairs(table, signatures):
    i, r = table.lookup(signatures)
    return sorted(set(zip(i.tolist(), r.tolist(), strict=True)))


def test_tail_sorted_bands_and_brute_force_return_the_same_pairs():
    rng = np.random.default_rng(2)
    hasher = MinHasher(384, bands=6, per_band=1, seed=4)
    stored = _codes(rng, 900)
    probes = np.vstack([stored[:5], _codes(rng, 5)])
    sig, psig = hasher.signatures(stored), hasher.signatures(probes)
    rows = np.arange(100, 1000)  # global rows need not start at 0
    table = BandTable(6)
    table.add(sig[:600], rows[:600])
    table.flush()
    table.add(sig[600:], rows[600:])  # below PENDING_MIN: waits in the tail
    assert len(table) == 900 and table.keys.shape == (6, 600)
    mixed = _pairs(table, psig)
    table.flush()
    assert table.keys.shape == (6, 900) and _pairs(table, psig) == mixed
    brute = sorted({(i, int(rows[j])) for i in range(len(psig)) for j in range(900)
                    if (psig[i] == sig[j]).any()})
    assert mixed == brute and {(i, 100 + i) for i in range(5)} <= set(mixed)


def test_renumber_keeps_live_rows_in_their_new_numbers():
    rng = np.random.default_rng(3)
    hasher = MinHasher(384, bands=4, per_band=2, seed=5)
    stored = _codes(rng, 50)
    table = BandTable(4)
    table.add(hasher.signatures(stored), np.arange(50))
    live = np.ones(50, bool)
    live[[3, 10, 11]] = False
    new_row = np.arange(50) - np.concatenate([[0], np.cumsum(~live)])[:-1]
    table.renumber(live, new_row)
    assert len(table) == 47 and sorted(table.rows[0].tolist()) == list(range(47))
    i, r = table.lookup(hasher.signatures(stored[[12]]))
    assert 9 in r.tolist()  # old row 12 is now row 9, and still found by its own code


def test_nearest_keeps_each_probes_k_nearest_distinct_rows():
    rng = np.random.default_rng(6)
    probe = rng.integers(0, 3, 400)
    row = rng.integers(0, 60, 400)
    dist = (row * 7 + probe * 3) % 50  # a row's distance depends on (probe, row) only
    d, r = nearest(probe, row, dist, 4, 5, repeats=20)
    for p in range(3):
        best = sorted({(int(x), int(y)) for x, y in zip(dist[probe == p], row[probe == p],
                                                         strict=True)})[:5]
        assert d[p].tolist() == [x for x, _ in best]
        assert len(set(r[p].tolist())) == 5
    assert r[3].tolist() == [-1] * 5  # probe 3 had no pairs


def _reference_signatures(hasher, packed):
    """The definition: under each ordering, the index of the first set cell (argmax of the
    reordered bits), per_band of them combined per band and hashed to 32 bits."""
    bits = np.unpackbits(packed, axis=1).astype(bool)
    out = np.zeros((len(packed), hasher.bands), np.uint32)
    key = np.zeros(len(bits), np.uint64)
    for h, order in enumerate(hasher.orders):
        key = key * np.uint64(hasher.bits + 1) + bits[:, order].argmax(1).astype(np.uint64)
        if h % hasher.per_band == hasher.per_band - 1:
            out[:, h // hasher.per_band] = (key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
            key[:] = 0
    return out


def test_sparse_signatures_equal_the_definition_across_chunks(monkeypatch):
    from matching.finger import minhash

    monkeypatch.setattr(minhash, "SPARSE_CHUNK", 50)  # several chunks, a ragged last one
    monkeypatch.setattr(minhash, "SPARSE_BLOCK", 16)
    rng = np.random.default_rng(5)
    packed = np.vstack([_codes(rng, 120, density=0.07), _codes(rng, 10, density=0.6),
                        np.zeros((3, 48), np.uint8)])  # sparse, dense and empty codes
    hasher = MinHasher(384, bands=8, per_band=4, seed=6)
    got = hasher.signatures(packed)
    assert got.shape == (133, 8)
    assert (got == _reference_signatures(hasher, packed)).all()
    assert len(np.unique(got[:, 0])) > 100  # distinct codes, distinct signatures
