"""The 1:N index against exhaustive matching: same best candidate, add/remove honoured."""

from __future__ import annotations

import pytest

from fixtures.synthetic_fingers import impression, master_print
from matching.finger.index import FingerIndex


@pytest.fixture(scope="module")
def index(finger_engine):
    idx = FingerIndex(finger_engine)
    gallery = [finger_engine.extract(impression(master_print(700 + f), 1)) for f in range(12)]
    idx.add(list(range(100, 112)), gallery)
    return idx


def test_indexed_search_agrees_with_exhaustive(index, finger_engine):
    for f in range(12):
        probe = finger_engine.extract(impression(master_print(700 + f), 99))
        best = index.exhaustive(probe, 1)[0]
        found = index.search(probe, k=3, shortlist=5)
        assert found[0].id == best.id == 100 + f
        assert found[0].score == pytest.approx(best.score)


def test_remove_and_threshold(index, finger_engine):
    probe = finger_engine.extract(impression(master_print(705), 98))
    index.remove([105])
    assert all(h.id != 105 for h in index.search(probe, k=12, shortlist=12))
    assert index.search(probe, k=5, threshold=0.99) == []
    index.add([105], [finger_engine.extract(impression(master_print(705), 1))])
    assert index.search(probe, k=1)[0].id == 105


def test_code_scores_put_the_mate_first_and_follow_replacements(index, finger_engine):
    import numpy as np

    from matching.finger.index import codes

    ids = list(range(100, 112))
    for f in (0, 3, 7):
        probe = finger_engine.extract(impression(master_print(700 + f), 97))
        assert ids[int(np.argmax(index.code_scores(probe, ids)))] == 100 + f
    replacement = finger_engine.extract(impression(master_print(703), 2))
    index.add([103], [replacement])
    start, count = index.rows[103]
    stored = index.stored_codes()[start:start + count]
    assert np.array_equal(stored, codes(finger_engine, replacement))
    index.remove([103])
    assert 103 not in index.rows
    index.add([103], [finger_engine.extract(impression(master_print(703), 1))])


def _fresh(finger_engine, seeds, mode="flat"):
    """An index of one impression per master print, ids = seeds."""
    idx = FingerIndex(finger_engine, mode=mode)
    idx.add(list(seeds), [finger_engine.extract(impression(master_print(s), 1)) for s in seeds])
    return idx


@pytest.mark.parametrize("mode", ["flat", "lsh"])
def test_a_replaced_template_no_longer_votes_with_its_old_codes(finger_engine, mode):
    idx = _fresh(finger_engine, range(720, 730), mode)
    probe = finger_engine.extract(impression(master_print(724), 95))
    before = dict(idx.candidates(probe, 10))
    assert max(before, key=before.get) == 724
    # id 724 now holds another finger: the old finger's codes must not vote for it (any
    # finger of so small a gallery gets a few votes from neighbours that are not its mate).
    idx.add([724], [finger_engine.extract(impression(master_print(731), 1))])
    after = dict(idx.candidates(probe, 10))
    assert after.get(724, 0.0) < 0.5 * before[724] and max(after, key=after.get) != 724
    idx.remove([725])
    gone = finger_engine.extract(impression(master_print(725), 95))
    assert 725 not in dict(idx.candidates(gone, 10))


@pytest.mark.parametrize("mode", ["flat", "lsh"])
def test_compaction_keeps_only_live_codes_and_the_same_answers(finger_engine, monkeypatch,
                                                               mode):
    import numpy as np

    import matching.finger.index as index_module
    from matching.finger.index import codes

    idx = _fresh(finger_engine, range(740, 750), mode)
    codes_before = idx.ntotal()
    monkeypatch.setattr(index_module, "COMPACT_MIN_DEAD", 1)
    replaced = {f: finger_engine.extract(impression(master_print(f), 2)) for f in (741, 746)}
    idx.add(list(replaced), list(replaced.values()))  # 2 of 10 replaced: below the share
    assert idx.ntotal() > codes_before and not idx.row_live.all()
    idx.remove([742, 743])  # now 4 of 12 fingers' worth are dead: rebuilt
    live_ids = [f for f in range(740, 750) if f not in (742, 743)]
    assert idx.row_live.all() and idx.ntotal() == sum(idx.rows[f][1] for f in live_ids)
    for f in live_ids:
        start, count = idx.rows[f]
        template = replaced.get(f) or idx.templates[f]
        assert np.array_equal(idx.stored_codes()[start:start + count],
                              codes(finger_engine, template))
        assert idx.row_owner[start:start + count].tolist() == [f] * count
    for f in (741, 744, 749):
        probe = finger_engine.extract(impression(master_print(f), 96))
        assert idx.search(probe, k=1)[0].id == idx.exhaustive(probe, 1)[0].id == f
    if mode == "lsh":  # the MinHash bands hold exactly the live rows, renumbered
        held = np.sort(np.concatenate([t.rows[0] for t in idx.tables.values()]))
        assert held.tolist() == list(range(idx.ntotal()))
