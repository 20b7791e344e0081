"""Gallery snapshots: a load from a snapshot (plus the tail) equals a rebuild from the database;
a damaged, stale, foreign or mismatched snapshot is refused and the gallery rebuilt; a kill -9
mid-write leaves the previous snapshot usable; and the feed replays in streamed batches.

Real files, a real database (SQLite and PostgreSQL), the real keyring and vault.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sqlalchemy import text

from biometrics import feed, snapshots
from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.loader import GalleryLoader
from biometrics.models import Modality
from fixtures.gallery_seed import seed_face_gallery
from matching.finger import FingerprintTemplate
from tests.servers import ROOT, server_env

GUARDS = 24


def _fingers(n: int, seed: int = 5) -> list[FingerprintTemplate]:
    """Return ``n`` synthetic finger templates (random minutiae, no extraction needed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = 40
        m = np.column_stack([rng.uniform(30, 270, k), rng.uniform(30, 370, k),
                             rng.uniform(0, 2 * np.pi, k), rng.integers(1, 3, k),
                             rng.uniform(0.5, 1.0, k)]).astype(np.float32)
        out.append(FingerprintTemplate(m, 300, 400, 70.0))
    return out


def _seed(runtime, n: int = GUARDS, seed: int = 0) -> None:
    with runtime.sessions() as s:
        seed_face_gallery(s, runtime.vault, n, seed=seed, fingers=_fingers(8, seed))


def _load(runtime, snapshot_dir, *, face_mode: str = "exact", chunk_bytes: int | None = None,
          finger_mode: str = "flat") -> tuple[FaceGallery, FingerGallery, dict]:
    """Load fresh galleries as a server start does; return them and how each was loaded."""
    face = FaceGallery(mode=face_mode)
    finger = FingerGallery(runtime.finger_engine, mode=finger_mode)
    loader = GalleryLoader(engine=runtime.engine, sessions=runtime.sessions,
                           vault=runtime.vault, galleries=(face, finger),
                           snapshot_dir=snapshot_dir, interval_s=3600, shutdown_s=5,
                           chunk_bytes=chunk_bytes or snapshots.CHUNK_BYTES).start()
    try:
        assert loader.loaded.wait(120), "the galleries did not load"
        return face, finger, dict(loader.report)
    finally:
        loader.stop()


def _same(a: tuple, b: tuple) -> None:
    """Assert two (face, finger) gallery pairs hold the same templates, owners and answers."""
    (fa, ga), (fb, gb) = a, b
    assert fa.owner == fb.owner and ga.owner == gb.owner
    assert sorted(fa.index.ids().tolist()) == sorted(fb.index.ids().tolist())
    assert ga.index.positions == gb.index.positions
    for fid, t in ga.index.templates.items():
        assert np.array_equal(t.minutiae, gb.index.templates[fid].minutiae)
    probe = next(iter(ga.index.templates.values()))
    assert ([(h.guard_id, h.biometric_id) for h in ga.search(probe)]
            == [(h.guard_id, h.biometric_id) for h in gb.search(probe)])
    vec = fa.index._index.reconstruct(int(fa.index.ids()[0]))  # IndexIDMap2: by id
    assert ([(h.guard_id, round(h.score, 5)) for h in fa.search(vec, threshold=0.5)]
            == [(h.guard_id, round(h.score, 5)) for h in fb.search(vec, threshold=0.5)])


def test_a_snapshot_load_equals_a_rebuild(runtime, tmp_path):
    _seed(runtime)
    built = _load(runtime, tmp_path)  # no snapshot yet: rebuilt, then written
    assert built[2]["face"]["source"] == built[2]["finger"]["source"] == "rebuild"
    assert snapshots.path_for(tmp_path, "finger").exists()
    loaded = _load(runtime, tmp_path)
    assert loaded[2]["face"]["source"] == loaded[2]["finger"]["source"] == "snapshot"
    assert loaded[2]["finger"]["tail"] == 0
    _same(built[:2], loaded[:2])
    # positions come from the database: each finger sits in its ISO position's partition
    assert set(loaded[1].index.positions.values()) == {2, 7}
    assert set(loaded[1].index.parts) == {2, 7}


def test_the_lsh_finger_gallery_is_configured_snapshotted_and_kept_apart(runtime, tmp_path,
                                                                         caplog):
    from bootstrap import Runtime

    lsh_runtime = Runtime(settings=runtime.settings.model_copy(
        update={"finger_index_mode": "lsh"}), engine=runtime.engine,
        sessions=runtime.sessions, vault=runtime.vault)
    assert lsh_runtime.finger_gallery.index.mode == "lsh"
    assert runtime.finger_gallery.index.mode == "flat"  # the default
    _seed(runtime)
    built = _load(runtime, tmp_path, finger_mode="lsh")
    loaded = _load(runtime, tmp_path, finger_mode="lsh")
    assert loaded[2]["finger"]["source"] == "snapshot"
    assert sorted(loaded[1].index.tables) == [2, 7] and not loaded[1].index.parts
    _same(built[:2], loaded[:2])
    exact = _load(runtime, None)[1]  # the flat scan: the same best score for every finger
    for t in exact.index.templates.values():  # (the seed gives several guards one finger)
        assert round(loaded[1].search(t)[0].score, 6) == round(exact.search(t)[0].score, 6)
    with caplog.at_level(logging.WARNING):
        _, flat, report = _load(runtime, tmp_path)  # a flat gallery refuses an lsh snapshot
    assert report["finger"]["source"] == "rebuild" and flat.index.mode == "flat"
    assert "other matching settings" in caplog.text


def test_a_change_committed_after_the_snapshot_is_served_after_restart(runtime, tmp_path):
    _seed(runtime)
    _load(runtime, tmp_path)
    _seed(runtime, 3, seed=1)  # committed after the snapshot was written
    face, finger, report = _load(runtime, tmp_path)
    assert report["face"]["source"] == "snapshot" and report["face"]["tail"] == 3
    assert report["finger"]["source"] == "snapshot" and report["finger"]["tail"] == 6
    assert len(face.owner) == GUARDS + 3 and len(finger.owner) == 2 * (GUARDS + 3)
    newest = max(face.owner.values())
    vec = face.index._index.reconstruct(max(face.owner))  # the newest face, by its id
    assert face.search(vec, threshold=0.99)[0].guard_id == newest
    _same((face, finger), _load(runtime, None)[:2])  # and equals a rebuild


def _flip_middle(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _rebind(path) -> None:
    """The header names another file id: its chunks were encrypted for another file."""
    data = path.read_bytes()
    head = data.index(b'"file_id": "') + len('"file_id": "')
    path.write_bytes(data[:head] + b"0" * 32 + data[head + 32:])


def _reorder(path) -> None:
    """The first two chunks swapped (same sizes, so the header still adds up)."""
    data = path.read_bytes()
    _, _, hlen = snapshots._PREFIX.unpack_from(data)
    sizes = json.loads(data[snapshots._PREFIX.size:snapshots._PREFIX.size + hlen])["sizes"]
    at, n = snapshots._PREFIX.size + hlen, sizes[0]
    assert len(sizes) > 2 and sizes[1] == n
    path.write_bytes(data[:at] + data[at + n:at + 2 * n] + data[at:at + n] + data[at + 2 * n:])


@pytest.mark.parametrize("damage", [_flip_middle, _truncate, _rebind, _reorder],
                         ids=["corrupt", "truncated", "rebound", "reordered"])
def test_a_damaged_snapshot_is_refused_and_the_gallery_rebuilt(runtime, tmp_path, caplog,
                                                              damage):
    _seed(runtime)
    built = _load(runtime, tmp_path, chunk_bytes=4096)  # many chunks
    damage(snapshots.path_for(tmp_path, "finger"))
    with caplog.at_level(logging.WARNING, logger="guardid.snapshots"):
        face, finger, report = _load(runtime, tmp_path)
    assert report["finger"]["source"] == "rebuild" and report["face"]["source"] == "snapshot"
    assert any("snapshot refused" in r.getMessage() for r in caplog.records)
    _same(built[:2], (face, finger))
    assert _load(runtime, tmp_path)[2]["finger"]["source"] == "snapshot"  # rewritten whole


def test_a_stale_snapshot_is_refused(runtime, tmp_path, caplog):
    """The database went back to an older backup: the change the snapshot was tagged with is
    gone, so the snapshot holds templates the database no longer has."""
    _seed(runtime, 10)
    with runtime.sessions() as s:
        head = s.scalar(text("SELECT max(seq) FROM template_changes"))
    _seed(runtime, 4, seed=1)
    _load(runtime, tmp_path)
    with runtime.engine.begin() as conn:  # "restore" the backup taken at ``head``
        conn.execute(text("DELETE FROM template_changes WHERE seq > :h"), {"h": head})
        conn.execute(text("DELETE FROM biometrics WHERE id NOT IN "
                          "(SELECT biometric_id FROM template_changes)"))
    with caplog.at_level(logging.WARNING, logger="guardid.snapshots"):
        face, finger, report = _load(runtime, tmp_path)
    assert report["face"]["source"] == report["finger"]["source"] == "rebuild"
    assert any("stale or foreign" in r.getMessage() for r in caplog.records)
    assert len(face.owner) == 10 and len(finger.owner) == 20


def test_a_snapshot_of_another_database_is_refused(runtime, tmp_path, caplog):
    """Same keyring, another database (its own data key): the chunks do not authenticate."""
    _seed(runtime)
    _load(runtime, tmp_path)
    with runtime.engine.begin() as conn:  # a new database: every table (data keys too) anew
        from registry.models import Base

        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    runtime.vault._deks.clear()
    _seed(runtime, 5, seed=3)
    with caplog.at_level(logging.WARNING, logger="guardid.snapshots"):
        face, finger, report = _load(runtime, tmp_path)
    assert report["face"]["source"] == report["finger"]["source"] == "rebuild"
    assert any("another keyring or database" in r.getMessage() for r in caplog.records)
    assert len(face.owner) == 5 and len(finger.owner) == 10


def test_a_snapshot_made_with_other_matching_settings_is_refused(runtime, tmp_path, caplog):
    _seed(runtime)
    _load(runtime, tmp_path)
    with caplog.at_level(logging.WARNING, logger="guardid.snapshots"):
        face, _, report = _load(runtime, tmp_path, face_mode="hnsw")
    assert report["face"]["source"] == "rebuild" and face.index.mode == "hnsw"
    assert any("other matching settings" in r.getMessage() for r in caplog.records)


WRITER = """
import sys
from pathlib import Path
from biometrics import snapshots
from bootstrap import build_runtime
from registry.settings import get_settings
rt = build_runtime(get_settings())
g = rt.finger_gallery
with rt.sessions() as s:
    g.catch_up(s, rt.vault)
while True:  # rewrite the snapshot in tiny chunks (slow) until killed
    with rt.sessions() as s:
        snapshots.write(Path(sys.argv[1]), g, session=s, vault=rt.vault, chunk_bytes=512)
"""


def test_a_kill_9_during_a_snapshot_write_leaves_the_previous_snapshot(runtime, tmp_path):
    _seed(runtime)
    built = _load(runtime, tmp_path)
    final = snapshots.path_for(tmp_path, "finger")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT,
                            env=server_env(runtime), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".finger.gsnap.*.tmp")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the writer never started a snapshot"
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert list(tmp_path.glob(".finger.gsnap.*.tmp")), "killed between two writes"
    assert final.exists()
    face, finger, report = _load(runtime, tmp_path)
    assert report["finger"]["source"] == "snapshot"
    _same(built[:2], (face, finger))


def test_the_feed_replays_in_streamed_batches(runtime):
    _seed(runtime, 7)
    with runtime.sessions() as s:
        whole, cursor = feed.read(s, feed.Cursor(), Modality.finger)
        reading = feed.Reading(s, feed.Cursor(), Modality.finger, batch=3)
        batches = list(reading)
    assert [len(b) for b in batches] == [3, 3, 3, 3, 2]
    assert [c for b in batches for c in b] == whole and reading.cursor == cursor
    assert {c.position for c in whole} == {2, 7}


@pytest.mark.parametrize("mode", ["flat", "lsh"])
def test_a_snapshot_write_does_not_copy_the_gallery(runtime, tmp_path, mode):
    """The plaintext is encrypted chunk by chunk straight from the index's own arrays: the
    write's extra memory is a small share of the snapshot, not two or three copies of it."""
    import tracemalloc

    _seed(runtime, 2)  # the database has a data key
    gallery = FingerGallery(runtime.finger_engine, mode=mode)
    n, rng = 3000, np.random.default_rng(9)
    packed = [np.packbits(rng.random((24, gallery.index.bits)) < 0.08, axis=1)
              for _ in range(n)]
    gallery.index.add(list(range(1, n + 1)), _fingers(n), positions=[1 + k % 10
                                                                     for k in range(n)],
                      packed=packed)
    gallery.owner = {fid: fid for fid in range(1, n + 1)}
    size = len(gallery.index.to_parts(0))
    tracemalloc.start()
    try:
        with runtime.sessions() as s:
            assert snapshots.write(tmp_path, gallery, session=s, vault=runtime.vault,
                                   chunk_bytes=256 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.6 * size, (peak, size)  # the minutiae are gathered once: ~0.3 of it
    with runtime.sessions() as s:  # and it reads back whole
        loaded = snapshots.read(tmp_path, FingerGallery(runtime.finger_engine, mode=mode),
                                session=s, vault=runtime.vault)
    assert np.array_equal(loaded.index.stored_codes(), gallery.index.stored_codes())
    assert loaded.index.positions == gallery.index.positions
    probe = gallery.index.templates[7]
    assert [h.id for h in loaded.index.search(probe, k=3)] == \
        [h.id for h in gallery.index.search(probe, k=3)]
