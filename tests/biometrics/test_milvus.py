"""The Milvus gallery backend against a real Milvus server (make test-milvus): the indexer
applies the feed idempotently and resumes after a crash mid-batch, searches equal the embedded
galleries', the tail the indexer has not applied is still found, a removed template leaves,
and /readyz and /metrics report the indexer's lag.

Skipped outside the Milvus pass (GUARDID_TEST_GALLERY_BACKEND=milvus starts the server).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.milvus import indexer as indexing
from biometrics.milvus.gallery import MilvusFaceGallery, MilvusFingerGallery, db_templates
from biometrics.models import Biometric, Modality
from tests.biometrics.test_snapshots import GUARDS, _seed
from tests.servers import ROOT, server_env

pytestmark = [pytest.mark.db, pytest.mark.gallery]


@pytest.fixture
def mrt(runtime):
    """The test's runtime on Milvus, its indexer thread stopped (each test drives its own;
    they are stopped at the end, so none keeps the advisory lock for the next test)."""
    if not runtime.uses_milvus:
        pytest.skip("runs in the Milvus pass (make test-milvus)")
    runtime.stop_indexer()
    made = []
    build = runtime.new_indexer

    def new_indexer():  # noqa: ANN202
        made.append(build())
        return made[-1]

    runtime.new_indexer = new_indexer
    yield runtime
    for ix in made:
        ix.stop()


def _galleries(rt) -> tuple[MilvusFaceGallery, MilvusFingerGallery]:
    """Fresh Milvus galleries of the runtime, caught up."""
    face = MilvusFaceGallery(rt.milvus_store)
    finger = MilvusFingerGallery(rt.milvus_store, db_templates(rt.sessions, rt.vault),
                                 rt.finger_engine)
    with rt.sessions() as s:
        face.catch_up(s, rt.vault)
        finger.catch_up(s, rt.vault)
    return face, finger


def _embedded(rt) -> tuple[FaceGallery, FingerGallery]:
    face, finger = FaceGallery(), FingerGallery(rt.finger_engine)
    with rt.sessions() as s:
        face.catch_up(s, rt.vault)
        finger.catch_up(s, rt.vault)
    return face, finger


def test_the_indexer_applies_the_feed_once_however_often_it_runs(mrt):
    _seed(mrt)
    ix = mrt.new_indexer()
    assert ix.apply() == GUARDS * 3  # a face and two fingers each
    assert ix.apply() == 0  # nothing new: nothing applied again
    store = mrt.milvus_store
    assert store.count("faces") == GUARDS
    with mrt.sessions() as s:
        fingers = [b for b, in s.query(Biometric.id).filter(Biometric.modality == Modality.finger)]
    assert store.ids("fingers") == set(fingers)
    # the same changes applied again (a cursor lost): the same rows, no duplicates
    with mrt.sessions() as s:
        indexing.reset_cursors(s)
        s.commit()
    codes_before = store.count("fingers")
    assert ix.apply() == GUARDS * 3
    assert store.count("faces") == GUARDS and store.count("fingers") == codes_before
    ix.stop()


def test_a_crash_mid_batch_resumes_from_the_saved_cursor(mrt):
    _seed(mrt)

    def crash(modality, n):  # noqa: ANN001
        if modality == Modality.finger and n >= 20:
            raise RuntimeError("killed mid-run")

    ix = mrt.new_indexer()
    ix.batch, ix.after_batch = 10, crash
    with pytest.raises(RuntimeError):
        ix.apply()
    with mrt.sessions() as s:
        saved = indexing.load_cursor(s, Modality.finger)
        assert saved.seq > 0  # the first batch's cursor was kept
        assert indexing.lag(s, Modality.finger).changes == 2 * GUARDS - 10
    ix.after_batch = None
    assert ix.apply() == 2 * GUARDS - 10  # the crashed batch again, then the rest
    face, finger = _galleries(mrt)
    assert not face.pending and not finger.pending  # everything is in Milvus
    with mrt.sessions() as s:
        assert indexing.lag(s, Modality.finger).changes == 0
    ix.stop()


def test_milvus_searches_equal_the_embedded_galleries(mrt):
    _seed(mrt)
    mrt.new_indexer().apply()
    face, finger = _galleries(mrt)
    ef, eg = _embedded(mrt)
    assert face.owner == ef.owner and finger.owner == eg.owner
    for bio in list(ef.owner)[:8]:
        vec = ef.index._index.reconstruct(bio)
        assert ([(h.guard_id, round(h.score, 4)) for h in face.search(vec, threshold=0.5)]
                == [(h.guard_id, round(h.score, 4)) for h in ef.search(vec, threshold=0.5)])
    for t in list(eg.index.templates.values())[:8]:
        want = [(h.guard_id, round(h.score, 5)) for h in eg.search(t)]
        got = [(h.guard_id, round(h.score, 5)) for h in finger.search(t)]
        assert got[0] == want[0] and set(got) <= set(want) | set(got)


def test_changes_the_indexer_has_not_applied_are_searched_from_the_tail(mrt):
    _seed(mrt)
    ix = mrt.new_indexer()
    ix.apply()
    _seed(mrt, 3, seed=1)  # committed, not applied to Milvus
    face, finger = _galleries(mrt)
    assert len(face.pending) == 3 and len(finger.pending) == 6
    newest_bio = max(face.owner)
    vec = face.index._index.reconstruct(newest_bio)
    assert mrt.milvus_store.search_faces(vec, 1)[0][1] < 0.99  # Milvus has not got it
    assert face.search(vec, threshold=0.99)[0].biometric_id == newest_bio
    t = finger.index.templates[max(finger.pending)]
    assert finger.search(t)[0].biometric_id == max(finger.pending)
    ix.apply()  # now applied: the tail is let go at the next catch-up
    with mrt.sessions() as s:
        face.catch_up(s, mrt.vault)
        finger.catch_up(s, mrt.vault)
    assert not face.pending and not finger.pending and not len(finger.index)
    assert face.search(vec, threshold=0.99)[0].biometric_id == newest_bio
    assert finger.search(t)[0].biometric_id == max(finger.owner)
    ix.stop()


def test_searches_wait_for_the_milvus_timestamp_the_indexer_saved_with_its_cursor(mrt):
    """The cursor carries the newest Milvus timestamp of the writes it covers (never
    lowered); a gallery searches as of it, so a template the indexer applied is found in
    Milvus as soon as a catch-up has read the cursor (not from the tail)."""
    from biometrics.milvus.store import MilvusStore

    _seed(mrt)
    ix = mrt.new_indexer()
    ix.apply()
    with mrt.sessions() as s:
        ts = {m: indexing.written_ts(s, m) for m in Modality}
    assert 0 < ts[Modality.face] < ts[Modality.finger] == mrt.milvus_store.written_ts
    face, finger = _galleries(mrt)
    assert (face.indexed_ts, finger.indexed_ts) == (ts[Modality.face], ts[Modality.finger])
    _seed(mrt, 1, seed=2)
    ix.apply()
    with mrt.sessions() as s:
        face.catch_up(s, mrt.vault)
        finger.catch_up(s, mrt.vault)
        assert indexing.written_ts(s, Modality.face) > ts[Modality.face]
    assert not face.pending and not finger.pending
    newest = max(face.owner)
    vec = _embedded(mrt)[0].index._index.reconstruct(newest)
    other = MilvusStore(mrt.settings.milvus_uri, mrt.settings.milvus_collection_prefix)
    try:  # another server's connection (it wrote nothing itself): as of the cursor's ts
        assert other.search_faces(vec, 1, ts=face.indexed_ts)[0][0] == newest
    finally:
        other.close()
    assert face.search(vec, threshold=0.99)[0].biometric_id == newest
    with mrt.sessions() as s:  # an indexer that wrote nothing yet never lowers it
        indexing.save_cursor(s, Modality.face, indexing.load_cursor(s, Modality.face), 0)
        s.commit()
        assert indexing.written_ts(s, Modality.face) == face.indexed_ts
    ix.stop()


def test_a_commit_wakes_the_indexer_at_once(mrt, monkeypatch):
    """The feed's NOTIFY wakes the indexer thread (through the replica listener): a commit
    is applied within seconds although the thread's poll is a minute away."""
    import time

    monkeypatch.setattr(indexing, "POLL_S", 60.0)
    ix = mrt.new_indexer()
    ix.start(mrt.indexer_wake)
    time.sleep(0.5)  # its first apply done, the thread waits out the poll
    mrt.start_listener()
    assert mrt.listener is not None
    try:
        time.sleep(0.5)  # listening
        _seed(mrt, 2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with mrt.sessions() as s:
                if indexing.lag(s, Modality.finger).changes == 0:
                    break
            time.sleep(0.1)
        with mrt.sessions() as s:
            assert indexing.lag(s, Modality.face).changes == 0
            assert indexing.lag(s, Modality.finger).changes == 0
        assert mrt.milvus_store.count("faces") == 2
    finally:
        mrt.listener.stop()
        mrt.listener = None


def test_a_superseded_template_leaves_milvus(mrt):
    from biometrics import writer

    _seed(mrt)
    ix = mrt.new_indexer()
    ix.apply()
    ef, eg = _embedded(mrt)
    bio = max(ef.owner)
    vec = ef.index._index.reconstruct(bio)
    finger_bio = max(eg.owner)
    t = eg.index.templates[finger_bio]
    with mrt.sessions() as s:
        assert writer.remove(s, [bio, finger_bio]) == [bio, finger_bio]
        s.commit()
    ix.apply()
    assert bio not in mrt.milvus_store.ids("faces")
    assert finger_bio not in mrt.milvus_store.ids("fingers")
    face, finger = _galleries(mrt)
    assert all(h.biometric_id != bio for h in face.search(vec, threshold=0.5))
    assert all(h.biometric_id != finger_bio for h in finger.search(t))


def test_readyz_and_metrics_report_the_indexer_lag(mrt, client, keys):
    _seed(mrt, 5)
    body = client.get("/readyz").json()
    assert body["indexer"]["face"]["changes"] == 5
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"}).text
    assert 'guardid_milvus_indexer_lag_changes{modality="finger"} 10.0' in metrics
    mrt.new_indexer().apply()
    assert client.get("/readyz").json()["indexer"]["face"]["changes"] == 0



def _cli(rt, *args: str) -> tuple[int, dict]:
    """Run ``guardid gallery ...`` in a subprocess on the test's database and Milvus."""
    env = {**server_env(rt), "GUARDID_MILVUS_URI": rt.settings.milvus_uri,
           "GUARDID_MILVUS_COLLECTION_PREFIX": rt.settings.milvus_collection_prefix}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "gallery", *args,
                           "--backend", "milvus", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_gallery_sync_verify_and_rebuild_commands(mrt):
    _seed(mrt, 6)
    code, out = _cli(mrt, "sync")
    assert code == 0 and out["applied"] == 18 and out["lag"] == {"face": 0, "finger": 0}
    code, out = _cli(mrt, "verify")
    assert code == 0 and out["ok"]
    assert [g["database"] for g in out["galleries"]] == [6, 12]
    mrt.milvus_store.drop_faces([max(_embedded(mrt)[0].owner)])  # Milvus loses one
    code, out = _cli(mrt, "verify")
    assert code == 1 and not out["ok"] and out["galleries"][0]["missing"] == 1
    code, out = _cli(mrt, "rebuild")
    assert code == 0 and out["applied"] == 18
    code, out = _cli(mrt, "verify")
    assert code == 0 and out["ok"] and out["galleries"][0]["milvus"] == 6
    assert out["galleries"][1]["milvus"] == 12  # fingers counted, not their codes
    import numpy as np

    mrt.milvus_store.put_faces([10**9], [1], np.ones((1, 128), np.float32))  # no such row
    code, out = _cli(mrt, "verify")
    assert code == 1 and out["galleries"][0]["stale"] == 1 and out["galleries"][0]["milvus"] == 7


def test_a_commit_under_the_lock_searches_what_the_indexer_applied_meanwhile(mrt):
    """The de-duplication lock searches only what arrived since the search outside it: a
    template the indexer applied in between (so never in this server's tail) is in it."""
    _seed(mrt)
    ix = mrt.new_indexer()
    ix.apply()
    face, finger = _galleries(mrt)
    generations = face.generation, finger.generation
    _seed(mrt, 1, seed=2)  # another station commits; the indexer applies it at once
    ix.apply()
    with mrt.sessions() as s:
        face.catch_up(s, mrt.vault)
        finger.catch_up(s, mrt.vault)
    assert not face.pending and not finger.pending  # all in Milvus, nothing in the tail
    newer_face, newer_finger = face.since(generations[0]), finger.since(generations[1])
    newest = max(face.owner)
    vec = _embedded(mrt)[0].index._index.reconstruct(newest)
    assert [h.biometric_id for h in newer_face.search(vec, threshold=0.99)] == [newest]
    assert set(newer_finger.templates) == {b for b, g in finger.owner.items()
                                           if g == face.owner[newest]}  # its two fingers


def test_replicas_opening_new_collections_at_once_all_succeed(mrt):
    """Replicas starting together race to create the collections: none of them fails."""
    from concurrent.futures import ThreadPoolExecutor

    from biometrics.milvus.store import MilvusStore

    prefix = mrt.settings.milvus_collection_prefix + "_race"
    stores = [MilvusStore(mrt.settings.milvus_uri, prefix) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            counts = list(pool.map(lambda st: (st.count("faces"), st.count("fingers")), stores))
        assert counts == [(0, 0)] * 4
    finally:
        stores[0].drop()
        for st in stores:
            st.close()



def test_the_sub_linear_finger_index_probes_few_lists_and_all_lists_are_exact(mrt):
    """BIN_IVF_FLAT (settings) indexes the codes: probing 1 of 16 lists misses true
    neighbours that probing all 16 finds, and those equal the exact scan's; re-opening with
    another plan re-indexes what is stored (nothing is lost)."""
    import numpy as np

    from biometrics.milvus.store import IndexPlan, MilvusStore

    uri, prefix = mrt.settings.milvus_uri, mrt.settings.milvus_collection_prefix + "_ivf"
    ivf = {"finger": "BIN_IVF_FLAT", "finger_nlist": 16}
    narrow = MilvusStore(uri, prefix, IndexPlan(**ivf, finger_nprobe=1))
    opened = [narrow]

    def nearest(st: MilvusStore) -> list[int]:
        return [h.distance for h in st.search_codes(probe, 10, [2])]

    try:
        assert narrow.index_params("fingers") == {
            "index_type": "BIN_IVF_FLAT", "metric_type": "HAMMING", "params": {"nlist": 16}}
        rng = np.random.default_rng(3)
        n = 2_000  # 16,000 codes: past Milvus's minimum segment size for an index
        narrow.put_fingers(list(range(n)), list(range(n)), [2] * n,
                           [rng.integers(0, 256, (8, 48), dtype=np.uint8) for _ in range(n)])
        narrow.wait_indexed()
        probe = rng.integers(0, 256, (16, 48), dtype=np.uint8)
        wide = MilvusStore(uri, prefix, IndexPlan(**ivf, finger_nprobe=16))
        opened.append(wide)
        few, every = nearest(narrow), nearest(wide)
        assert len(few) == len(every) == 160
        assert sum(few) > sum(every)  # one list of 16: some true neighbours missed
        exact = MilvusStore(uri, prefix, IndexPlan())  # BIN_FLAT: re-indexes the collection
        opened.append(exact)
        assert exact.index_params("fingers")["index_type"] == "BIN_FLAT"
        exact.wait_indexed()
        assert nearest(exact) == every  # every list probed: the exact neighbours
        assert exact.count("fingers") == 8 * n
    finally:
        opened[0].drop()
        for st in opened:
            st.close()
