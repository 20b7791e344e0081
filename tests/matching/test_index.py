"""The face gallery index against numpy brute force on seeded data, persistence and threads."""

import threading

import numpy as np
import pytest

from matching.exceptions import IndexFileError, MatchingError
from matching.index import FaceIndex


def unit(rng, n, dim=128):
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def gallery():
    rng = np.random.default_rng(42)
    return np.arange(10_000, 30_000, dtype=np.int64), unit(rng, 20_000), unit(rng, 200)


@pytest.mark.parametrize("mode", ["exact", "sq16", "hnsw"])
def test_top_k_matches_brute_force(gallery, mode):
    ids, vecs, probes = gallery
    index = FaceIndex(mode=mode)
    index.add(ids, vecs)
    results = index.search(probes, k=5)
    brute = probes @ vecs.T
    top = np.argsort(-brute, axis=1)[:, :5]
    agree = np.mean([r[0].id == ids[t[0]] for r, t in zip(results, top, strict=True)])
    if mode in ("exact", "sq16"):
        assert agree == 1.0
        for r, t, b in zip(results, top, brute, strict=True):
            assert [h.id for h in r] == ids[t].tolist()
            assert np.allclose([h.score for h in r], b[t], atol=1e-5)
    else:
        assert agree >= 0.95  # random unit vectors are the hardest case for HNSW


def test_hnsw_recall_on_clustered_probes(gallery):
    ids, vecs, _ = gallery
    rng = np.random.default_rng(3)
    probes = vecs[:1000] + rng.normal(scale=0.03, size=(1000, 128)).astype(np.float32)
    exact, approx = FaceIndex(), FaceIndex(mode="hnsw")
    exact.add(ids, vecs)
    approx.add(ids, vecs)
    e, a = exact.search(probes, k=1), approx.search(probes, k=1)
    recall = np.mean([x[0].id == y[0].id for x, y in zip(e, a, strict=True)])
    assert recall >= 0.99


def test_threshold_and_no_match():
    rng = np.random.default_rng(0)
    v = unit(rng, 50)
    index = FaceIndex()
    index.add(range(50), v)
    assert index.search(v[:1], k=3, threshold=0.999)[0][0].id == 0
    assert index.search(unit(rng, 1), k=3, threshold=0.9) == [[]]  # "no match" is an answer
    assert FaceIndex().search(v[:2], k=3) == [[], []]


def test_k_larger_than_gallery_never_leaks_minus_one():
    index = FaceIndex()
    index.add([7, 8], unit(np.random.default_rng(1), 2))
    hits = index.search(unit(np.random.default_rng(2), 1), k=10)[0]
    assert sorted(h.id for h in hits) == [7, 8]


@pytest.mark.parametrize("mode", ["exact", "sq16", "hnsw"])
def test_remove_and_replace(mode):
    rng = np.random.default_rng(5)
    v = unit(rng, 300)
    index = FaceIndex(mode=mode)
    index.add(range(300), v)
    assert index.remove([0, 1, 999]) == 2 and len(index) == 298
    assert not index.contains(0) and index.contains(2)
    hits = index.search(v[:2], k=5)
    assert all(h.id not in (0, 1) for r in hits for h in r)
    index.add([5], v[0])  # re-adding an id replaces its vector
    assert index.search(v[:1], k=1)[0][0].id == 5 and len(index) == 298


def test_hnsw_compacts_after_many_removals():
    rng = np.random.default_rng(6)
    v = unit(rng, 1000)
    index = FaceIndex(mode="hnsw")
    index.add(range(1000), v)
    index.remove(range(300))
    assert len(index) == 700 and index._index.ntotal == 700  # rebuilt without tombstones
    assert index.search(v[500:501], k=1)[0][0].id == 500


def test_bad_vectors_are_refused():
    index = FaceIndex()
    with pytest.raises(MatchingError):
        index.add([1], np.ones((1, 64)))
    with pytest.raises(MatchingError):
        index.add([1], np.full((1, 128), np.nan))
    with pytest.raises(MatchingError):
        index.add([1, 1], np.ones((2, 128)))


@pytest.mark.parametrize("mode", ["exact", "sq16", "hnsw"])
def test_save_load_and_stale_or_corrupt_files(tmp_path, mode):
    rng = np.random.default_rng(9)
    v = unit(rng, 500)
    index = FaceIndex(mode=mode)
    index.add(range(500), v)
    index.remove([3])
    path = tmp_path / "faces.idx"
    index.save(path, checkpoint="seq:500")
    back = FaceIndex.load(path, expected_checkpoint="seq:500")
    assert len(back) == 499 and not back.contains(3)
    assert back.search(v[10:11], k=1)[0][0].id == 10
    with pytest.raises(IndexFileError):
        FaceIndex.load(path, expected_checkpoint="seq:501")  # the database moved on
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexFileError):
        FaceIndex.load(path, expected_checkpoint="seq:500")
    path.write_bytes(bytes(raw[:100]))
    with pytest.raises(IndexFileError):
        FaceIndex.load(path, expected_checkpoint="seq:500")


def test_rebuild_from_database_rows():
    rng = np.random.default_rng(11)
    v = unit(rng, 25_000)
    index = FaceIndex.from_pairs(((i + 1, v[i]) for i in range(25_000)), batch=10_000)
    assert len(index) == 25_000 and index.search(v[24_999:], k=1)[0][0].id == 25_000


def test_concurrent_searches_with_writes():
    rng = np.random.default_rng(12)
    v = unit(rng, 4000)
    index = FaceIndex()
    index.add(range(2000), v[:2000])
    removed: set[int] = set()
    errors: list[str] = []
    stop = threading.Event()

    def searcher():
        while not stop.is_set():
            snapshot = set(removed)  # ids removed before this search started
            for row in index.search(v[:50], k=5):
                for hit in row:
                    if hit.id < 0 or hit.id in snapshot:
                        errors.append(f"bad hit {hit.id}")

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(0, 2000, 50):
        index.add(range(2000 + i, 2050 + i), v[2000 + i:2050 + i])
        batch = list(range(i, i + 25))
        index.remove(batch)
        removed.update(batch)
    stop.set()
    for t in threads:
        t.join()
    assert not errors and len(index) == 4000 - 1000


@pytest.mark.parametrize("mode", ["exact", "sq16", "hnsw"])
def test_snapshot_bytes_round_trip_and_refusals(gallery, mode):
    from matching.exceptions import SnapshotError

    ids, vecs, probes = gallery
    index = FaceIndex(mode=mode)
    index.add(ids[:3000], vecs[:3000])
    index.remove(ids[:10])
    blob = index.to_bytes(seq=17)
    back, seq = FaceIndex.from_bytes(blob)
    assert seq == 17 and len(back) == len(index)
    assert index.search(probes[:20], k=5) == back.search(probes[:20], k=5)
    for bad in (blob[:-1], blob[:-100], blob[:5], blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]):
        with pytest.raises(SnapshotError):
            FaceIndex.from_bytes(bad)
