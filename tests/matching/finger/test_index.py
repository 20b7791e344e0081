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
