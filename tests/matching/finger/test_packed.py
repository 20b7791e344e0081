"""Templates packed into arrays: what is read back is what was stored, through replacement,
removal, compaction and a snapshot's columns."""

from __future__ import annotations

import numpy as np

import matching.finger.packed as packed_module
from matching.finger.packed import PackedTemplates
from matching.finger.template import FingerprintTemplate


def _template(rng, n, position=0, model="m1"):
    m = np.column_stack([rng.random((n, 3)) * 300, rng.integers(1, 4, n) // 2 * 2 + 1,
                         rng.random(n)]).astype(np.float32)
    return FingerprintTemplate(m, 300 + n, 400, float(rng.random() * 100), model, position)


def _same(a, b):
    assert np.array_equal(a.minutiae, b.minutiae) and a.minutiae.dtype == np.float32
    assert (a.width, a.height, a.quality, a.model_id, a.position) == (
        b.width, b.height, b.quality, b.model_id, b.position)
    assert a.digest == b.digest


def test_templates_read_back_equal_through_replacement_removal_and_compaction(monkeypatch):
    monkeypatch.setattr(packed_module, "COMPACT_MIN_ROWS", 1)
    rng = np.random.default_rng(3)
    want = {fid: _template(rng, 5 + fid % 7, fid % 11, "m1" if fid % 3 else "m2")
            for fid in range(40)}
    store = PackedTemplates()
    store.put_many(list(want)[:20], [want[f] for f in list(want)[:20]])
    for fid in list(want)[20:]:
        store[fid] = want[fid]
    want[7] = store[7] = _template(rng, 3)  # replaced
    want[9] = _template(rng, 0)  # replaced by one with no minutiae, twice in one call
    store.put_many([9, 9], [_template(rng, 4), want[9]])
    for fid in (1, 2, 3, 30):
        del store[fid]
        del want[fid]
    assert store.start.n < 44  # compacted on the way (rows of removed templates dropped)
    assert len(store) == len(want) and set(store) == set(want) and 1 not in store
    for fid, t in want.items():
        _same(store[fid], t)


def test_columns_round_trip_to_an_equal_store():
    rng = np.random.default_rng(4)
    store = PackedTemplates()
    ts = [_template(rng, 4 + k % 5, k % 10) for k in range(30)]
    store.put_many(list(range(100, 130)), ts)
    del store[105]
    cols = store.columns()
    assert cols["ids"].tolist() == [f for f in range(100, 130) if f != 105]
    back = PackedTemplates.from_columns(cols["ids"], cols["minutiae"].copy(),
                                        cols["minutiae_counts"], cols["sizes"],
                                        cols["quality"], cols["positions"], cols["models"],
                                        store.models)
    assert list(back) == list(store)
    for fid in store:
        _same(back[fid], store[fid])
