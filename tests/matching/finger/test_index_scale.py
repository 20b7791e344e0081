"""Position partitions, the inverted file and MinHash banding against the flat reference,
and snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.synthetic_fingers import impression, master_print, splice
from matching.exceptions import SnapshotError
from matching.finger.index import FingerIndex, codes

MATES = range(760, 766)


@pytest.fixture(scope="module")
def world(finger_engine):
    """Six mates (position 1..6) with probes, and 1,200 spliced fillers across 10 positions."""
    mates = [finger_engine.extract(impression(master_print(s), 1)) for s in MATES]
    probes = [finger_engine.extract(impression(master_print(s), 50)) for s in MATES]
    sources = [finger_engine.extract(impression(master_print(s), 1)) for s in range(770, 780)]
    rng = np.random.default_rng(5)
    fillers = []
    while len(fillers) < 1200:
        i, j = rng.integers(len(sources), size=2)
        if i != j:
            fillers.append(splice(sources[i], sources[j], rng))
    return mates, probes, fillers, [codes(finger_engine, t) for t in mates + fillers]


def build(finger_engine, world, **kw):
    mates, _, fillers, packed = world
    idx = FingerIndex(finger_engine, **kw)
    idx.add(list(range(len(mates))), mates, positions=[k + 1 for k in range(len(mates))],
            packed=packed[:len(mates)])
    idx.add(list(range(1000, 1000 + len(fillers))), fillers,
            positions=[1 + k % 10 for k in range(len(fillers))], packed=packed[len(mates):])
    return idx


@pytest.fixture(scope="module")
def flat(finger_engine, world):
    return build(finger_engine, world, mode="flat")


@pytest.fixture(scope="module")
def ivf(finger_engine, world):
    return build(finger_engine, world, mode="ivf", ivf_min_codes=2000, nprobe=4)


@pytest.fixture(scope="module")
def lsh(finger_engine, world):
    idx = build(finger_engine, world, mode="lsh")
    for table in idx.tables.values():
        table.flush()  # search the sorted bands (the small tail is tested on its own)
    return idx


def test_a_known_position_searches_only_its_fingers(flat, world):
    probes = world[1]
    for k, probe in enumerate(probes):
        cands = flat.candidates(probe, 50, position=k + 1)
        assert cands and {flat.positions[f] for f, _ in cands} == {k + 1}
        assert flat.last_stats.partitions == (k + 1,)
        assert 0.05 < flat.last_stats.touched_share < 0.15  # one position of ten
        # the same probe on another position's fingers cannot find its mate
        assert k not in dict(flat.candidates(probe, 50, position=1 + (k + 1) % 6))


def test_unknown_position_fingers_are_searched_by_every_probe(finger_engine, world):
    mates, probes = world[:2]
    idx = FingerIndex(finger_engine, mode="flat")
    idx.add([7], [mates[2]], positions=[0])
    idx.add([8], [mates[3]], positions=[4])
    assert idx.search(probes[2], k=1, position=5)[0].id == 7
    assert idx.search(probes[3], k=1, position=0)[0].id == 8
    assert all(h.id != 8 for h in idx.search(probes[3], k=2, position=5))


def test_the_inverted_file_touches_few_codes_and_finds_what_the_flat_scan_finds(
        flat, ivf, world):
    probes = world[1]
    assert all(type(p).__name__ == "IndexBinaryIVF" for p in ivf.parts.values())
    for position in (None, 0):  # known (the probe's mate position) and unknown
        for k, probe in enumerate(probes):
            where = k + 1 if position is None else 0
            want = flat.search(probe, k=1, position=where)
            got = ivf.search(probe, k=1, position=where)
            assert got[0].id == want[0].id == k
            assert got[0].score == pytest.approx(want[0].score)
            share = ivf.last_stats.touched_share
            assert share < (0.06 if where else 0.5), share  # flat: 0.1 and 1.0
            assert flat.last_stats.touched_share == pytest.approx(0.1 if where else 1.0,
                                                                  abs=0.03)


def test_snapshot_round_trip_gives_identical_results(ivf, world, finger_engine):
    probes = world[1]
    ivf.remove([1003])
    blob = ivf.to_bytes(seq=41)
    back, seq = FingerIndex.from_bytes(blob, finger_engine)
    assert seq == 41 and len(back) == len(ivf) and 1003 not in back.templates
    assert sorted(back.parts) == sorted(ivf.parts)
    for k, probe in enumerate(probes):
        for where in (k + 1, 0):
            a = ivf.search(probe, k=5, position=where)
            b = back.search(probe, k=5, position=where)
            assert [(h.id, h.score, h.votes) for h in a] == [(h.id, h.score, h.votes) for h in b]
    back.add([1003], [world[2][3]], positions=[4])  # still a live index
    assert 1003 in back.templates


def test_corrupt_truncated_and_foreign_snapshots_are_refused(flat, finger_engine):
    from matching.index import FaceIndex

    blob = flat.to_bytes(seq=3)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    face = FaceIndex()
    face.add([1], np.ones((1, 128), np.float32) / np.sqrt(128))
    for bad in (bytes(flipped), blob[:-7], blob[:10], b"", face.to_bytes(3),
                b"XXXX" + blob[4:]):
        with pytest.raises(SnapshotError):
            FingerIndex.from_bytes(bad, finger_engine)
    with pytest.raises(SnapshotError):
        FaceIndex.from_bytes(blob)


def test_minhash_banding_touches_few_codes_and_finds_what_the_flat_scan_finds(
        flat, lsh, world):
    probes = world[1]
    assert not lsh.parts and sorted(lsh.tables) == list(range(1, 11))
    for k, probe in enumerate(probes):
        for where in (k + 1, 0):  # known (the mate's position) and unknown
            want = flat.search(probe, k=1, position=where)
            got = lsh.search(probe, k=1, position=where)
            assert got[0].id == want[0].id == k
            assert got[0].score == pytest.approx(want[0].score)
            share = lsh.last_stats.touched_share
            assert share < (0.03 if where else 0.25), share  # flat: 0.1 and 1.0
            assert lsh.last_stats.partitions == ((k + 1,) if where else tuple(range(1, 11)))


def test_minhash_banding_known_position_compares_its_partition_and_unknown_only(
        finger_engine, world):
    mates, probes, fillers, packed = world
    idx = FingerIndex(finger_engine, mode="lsh")
    idx.add(list(range(6)), mates, positions=[0, 2, 3, 4, 5, 6], packed=packed[:6])
    idx.add(list(range(1000, 1600)), fillers[:600], positions=[1 + k % 10 for k in range(600)],
            packed=packed[6:606])
    for k, probe in enumerate(probes[:4]):
        hits = idx.search(probe, k=30, position=k + 1)
        assert idx.last_stats.partitions == (k + 1, 0)
        assert {idx.positions[h.id] for h in hits} <= {k + 1, 0}
        assert hits[0].id == k  # mate 0 is of unknown position, found from position 1
        rows = sum(idx.rows[f][1] for f, p in idx.positions.items() if p in (k + 1, 0))
        assert 0 < idx.last_stats.codes_scanned <= rows


def test_minhash_snapshot_round_trip_gives_identical_results(finger_engine, world):
    mates, probes, fillers, packed = world
    idx = build(finger_engine, world, mode="lsh", bands=12, per_band=2)
    idx.remove([1003])
    blob = idx.to_bytes(seq=9)
    back, seq = FingerIndex.from_bytes(blob, finger_engine)
    assert seq == 9 and back.mode == "lsh" and 1003 not in back.templates
    assert (back.hasher.bands, back.hasher.per_band) == (12, 2)
    assert np.array_equal(back.hasher.orders, idx.hasher.orders)
    assert sorted(back.tables) == sorted(idx.tables)
    for p, table in idx.tables.items():
        assert np.array_equal(back.tables[p].keys, table.keys)
        assert np.array_equal(back.tables[p].rows, table.rows)
    for k, probe in enumerate(probes):
        for where in (k + 1, 0):
            a = idx.search(probe, k=5, position=where)
            b = back.search(probe, k=5, position=where)
            assert [(h.id, h.score, h.votes) for h in a] == [(h.id, h.score, h.votes) for h in b]
    back.add([1003], [fillers[3]], positions=[4])  # still a live index
    assert 1003 in dict(back.candidates(fillers[3], 5, position=4))
