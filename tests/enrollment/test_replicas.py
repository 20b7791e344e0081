"""Two real `guardid serve` replicas on one PostgreSQL: a change committed on one is applied
by the other within a second through LISTEN/NOTIFY (no search pulls it), the short
de-duplication lock never admits one person twice when both replicas commit at once, and
resolve-review and finger re-extraction racing commits lose nothing.

One pair of servers serves the whole module. Every race enrols the same station photo (the
suite's one passing face) with that race's own synthetic fingers, so the module names a face
duplicate threshold above any score: two sessions of a race are tied together by their
fingers, and races do not tie to each other through the shared photo.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select, update

from biometrics.models import Biometric, Modality
from enrollment.models import EnrollmentSession as Enrolment
from enrollment.models import ReviewCase, SessionStatus
from registry import apikeys, idnumber
from registry.models import Base, Role
from tests import milvus
from tests.conftest import PG_URL, SYNTHETIC_FINGER_THRESHOLDS
from tests.enrollment.conftest import finger_png
from tests.servers import ROOT, start

# One xdist worker runs the whole module (make test passes --dist loadgroup): its tests share
# the two replica servers, and the last one resolves the reviews the earlier ones opened.
pytestmark = [pytest.mark.db, pytest.mark.gallery, pytest.mark.xdist_group("replicas")]

RACES = 50
# A replica applies another's commit within this many seconds (the goal).
IN_STEP_S = 1.0
DISTRICT = "蓟州区"


@pytest.fixture(scope="module")
def replicas(migrated_engine, db_url, tmp_path_factory):
    """Two servers on the worker's PostgreSQL database, sharing its keyring; yields
    (url_a, url_b, keys, runtime) and empties the database afterwards."""
    if not PG_URL:
        pytest.skip("two replicas need PostgreSQL (set GUARDID_TEST_PG_URL)")
    from bootstrap import Runtime, session_factory
    from matching.face.params import MODEL_ID
    from registry.crypto import Keyring, Vault
    from registry.settings import Environment, Settings

    var = tmp_path_factory.mktemp("replicas")
    never = var / "face_thresholds.json"
    never.write_text(json.dumps({"model_id": MODEL_ID, "thresholds": {"face_fmr_1e-12": 1.5}}))
    settings = Settings(env=Environment.test, var_dir=var / "var", database_url=db_url,
                        keyring_file=var / "var" / "keyring.json")
    runtime = Runtime(settings=settings, engine=migrated_engine,
                      sessions=session_factory(migrated_engine),
                      vault=Vault(Keyring.open(settings.keyring_file, create=True)))
    with runtime.sessions() as s:
        keys = {r: apikeys.create(db_session=s, role=Role(r), name=r).token
                for r in ("station", "admin", "inspector")}
        keys["other_admin"] = apikeys.create(db_session=s, role=Role.admin, name="o",
                                             district="和平区").token
        s.commit()
    env = {**os.environ, "GUARDID_DATABASE_URL": db_url, "GUARDID_VAR_DIR": str(var / "var"),
           "GUARDID_KEYRING_FILE": str(settings.keyring_file), "GUARDID_ENV": "test",
           "GUARDID_COMPUTE_PROCESSES": "1", "GUARDID_COLLECTION_MIN_FINGERS": "1",
           "GUARDID_FACE_THRESHOLDS_FILE": str(never),
           "GUARDID_ENROLL_DUPLICATE_THRESHOLD": "face_fmr_1e-12",
           "GUARDID_FINGER_THRESHOLDS_FILE": str(SYNTHETIC_FINGER_THRESHOLDS),
           **milvus.server_env(milvus.prefix("replicas"))}
    with ThreadPoolExecutor(2) as pool:
        (proc_a, url_a), (proc_b, url_b) = pool.map(start, [env, env])
    try:
        yield url_a, url_b, keys, runtime, env
    finally:
        for proc in (proc_a, proc_b):
            proc.terminate()
            proc.wait(timeout=20)
        with migrated_engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def client(url: str, token: str) -> httpx.Client:
    """An HTTP client on one replica with one key."""
    return httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"})


def gauges(c: httpx.Client) -> dict[str, float]:
    """Return the replica's gallery gauges from /metrics (name{labels} -> value)."""
    r = c.get("/metrics")
    assert r.status_code == 200, r.text
    return {m[1]: float(m[2]) for m in re.finditer(
        r"^(guardid_(?:gallery|feed|replica)_[a-z_]+(?:\{[^}]*\})?) (\S+)$", r.text, re.M)}


def in_step(c: httpx.Client) -> dict[str, float]:
    """Wait until the replica applied every committed change; return its gauges then."""
    deadline = time.monotonic() + IN_STEP_S
    while True:
        g = gauges(c)
        behind = (g['guardid_gallery_lag_changes{modality="face"}']
                  + g['guardid_gallery_lag_changes{modality="finger"}'])
        if behind == 0 or time.monotonic() > deadline:
            assert behind == 0, f"still {behind} changes behind after {IN_STEP_S} s: {g}"
            return g
        time.sleep(0.02)


def prepare(c: httpx.Client, serial: int, person: int, face: bytes) -> dict:
    """Open a session for a new ID number, submit the face and one finger of ``person``."""
    s = c.post("/enrollments", json={"guard": {
        "name": f"复本{serial}", "district": DISTRICT,
        "id_number": idnumber.make("120225", dt.date(1991, 5, 1 + serial // 400),
                                   2 * (serial % 400) + 1, male=True)}})
    assert s.status_code == 201, s.text
    sid = s.json()["id"]
    assert c.post(f"/enrollments/{sid}/face", files={"file": ("f.jpg", face)}).json()["passed"]
    for attempt in range(3):  # some synthetic prints have too few minutiae: the next one
        r = c.post(f"/enrollments/{sid}/fingers/2", files={"file": (
            "f.png", finger_png(master(person, attempt), 1))})
        assert r.status_code == 201, r.text
        if r.json()["passed"]:
            return {**s.json(), "master": master(person, attempt)}
    raise AssertionError(f"no usable synthetic print for person {person}")


def master(person: int, attempt: int = 0) -> int:
    """The synthetic master print of ``person``'s finger 2 (another one per attempt)."""
    return 30_000 + 10 * person + 2 + 5_000 * attempt


def live(runtime, modality: Modality) -> int:
    """Return how many current biometrics of ``modality`` the database holds."""
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(Biometric).where(
            Biometric.modality == modality, Biometric.superseded_at.is_(None)))


def test_enrol_on_one_replica_identify_and_dedup_on_the_other(replicas, face_jpeg):
    url_a, url_b, keys, runtime, _ = replicas
    a, b = client(url_a, keys["station"]), client(url_b, keys["station"])
    watch_b = client(url_b, keys["admin"])
    before = gauges(watch_b)
    guard = prepare(a, 1, 1, face_jpeg)
    assert a.post(f"/enrollments/{guard['id']}/commit").json()["status"] == "committed"
    # B applies A's commit by itself, before anyone searches on B: the notification did it.
    after = in_step(watch_b)
    assert after["guardid_feed_head_seq"] > before["guardid_feed_head_seq"]
    assert after['guardid_gallery_applied_seq{modality="finger"}'] == after[
        "guardid_feed_head_seq"]
    assert after['guardid_gallery_size{modality="face"}'] == live(runtime, Modality.face)
    assert after["guardid_replica_notify_catchups"] > before["guardid_replica_notify_catchups"]
    assert watch_b.get("/readyz").json()["checks"]["galleries"] == "ok"
    # At once on B: a spot check identifies the guard, and the same person under another ID
    # number opens a review naming them.
    ident = client(url_b, keys["inspector"]).post("/inspections/identify", files={
        "finger": ("p.png", finger_png(guard["master"], 5))}).json()
    assert ident.get("outcome") == "identified", ident
    assert ident["candidates"][0]["guard_id"] == guard["guard_id"]
    twin = prepare(b, 2, 1, face_jpeg)
    out = b.post(f"/enrollments/{twin['id']}/commit").json()
    assert out["status"] == "review"
    assert [c["guard_id"] for c in out["candidates"]] == [guard["guard_id"]]


def test_metrics_need_an_admin_or_auditor_key(replicas):
    url_a, _, keys, _, _ = replicas
    assert httpx.get(url_a + "/metrics").status_code == 401
    assert client(url_a, keys["station"]).get("/metrics").status_code == 403
    # A district's admin sees the same counts as the city's: they name no guard or district.
    text = client(url_a, keys["other_admin"]).get("/metrics").text
    assert "guardid_gallery_size" in text and DISTRICT not in text


def test_fifty_races_of_one_person_at_two_replicas_admit_one(replicas, face_jpeg):
    url_a, url_b, keys, runtime, _ = replicas
    a, b = client(url_a, keys["station"]), client(url_b, keys["station"])
    people = range(100, 100 + RACES)
    with ThreadPoolExecutor(2) as pool:  # both replicas prepare their sessions at once
        on_a = pool.submit(lambda: [prepare(a, 100 + p, p, face_jpeg) for p in people])
        on_b = pool.submit(lambda: [prepare(b, 300 + p, p, face_jpeg) for p in people])
        pairs = list(zip(on_a.result(), on_b.result(), strict=True))
    barrier = threading.Barrier(2)

    def commit(c: httpx.Client, sid: int) -> dict:
        barrier.wait()
        r = c.post(f"/enrollments/{sid}/commit")
        assert r.status_code == 200, r.text
        return r.json()

    outcomes = []
    with ThreadPoolExecutor(2) as pool:
        for sa, sb in pairs:
            ra, rb = pool.submit(commit, a, sa["id"]), pool.submit(commit, b, sb["id"])
            outcomes.append((sa, sb, ra.result(), rb.result()))
    for sa, sb, ra, rb in outcomes:
        assert sorted([ra["status"], rb["status"]]) == ["committed", "review"], (ra, rb)
        admitted, held = (sa, rb) if ra["status"] == "committed" else (sb, ra)
        assert [c["guard_id"] for c in held["candidates"]] == [admitted["guard_id"]]
    with runtime.sessions() as s:
        ids = [x["id"] for sa, sb, _, _ in outcomes for x in (sa, sb)]
        assert s.scalar(select(func.count()).select_from(Enrolment).where(
            Enrolment.id.in_(ids), Enrolment.status == SessionStatus.committed)) == RACES
        assert s.scalar(select(func.count()).select_from(ReviewCase).where(
            ReviewCase.session_id.in_(ids))) == RACES
    for url in (url_a, url_b):  # and both replicas hold every admitted guard already
        g = in_step(client(url, keys["admin"]))
        assert g['guardid_gallery_size{modality="finger"}'] == live(runtime, Modality.finger)


def test_resolve_review_and_reextract_racing_commits_lose_nothing(replicas, face_jpeg):
    url_a, url_b, keys, runtime, env = replicas
    a, b = client(url_a, keys["station"]), client(url_b, keys["station"])
    admin_a = client(url_a, keys["admin"])
    # Open review cases to resolve, made here (a test never relies on another's leftovers:
    # each pair is one person enrolled on A and again under another ID number on B), and
    # stale finger templates for a re-extraction run.
    for i in range(6):
        first = prepare(a, 700 + i, 700 + i, face_jpeg)
        assert a.post(f"/enrollments/{first['id']}/commit").json()["status"] == "committed"
        again = prepare(b, 800 + i, 700 + i, face_jpeg)
        assert b.post(f"/enrollments/{again['id']}/commit").json()["status"] == "review"
    cases = [c["id"] for c in admin_a.get("/reviews").json()][:6]
    assert len(cases) == 6
    with runtime.sessions.begin() as s:
        s.execute(update(Biometric).where(Biometric.modality == Modality.finger,
                                          Biometric.superseded_at.is_(None))
                  .values(model_id="guardid_mcc_old"))
    fresh = [prepare(c, 600 + i, 600 + i, face_jpeg) for i, c in enumerate([a, b] * 3)]
    reextract = subprocess.Popen([sys.executable, "-m", "cli.main", "finger", "reextract",
                                  "--batch", "7", "--json"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with ThreadPoolExecutor(4) as pool:
        resolved = [pool.submit(admin_a.post, f"/reviews/{c}/resolve",
                                json={"outcome": "different_people"}) for c in cases]
        committed = [pool.submit((a if i % 2 == 0 else b).post,
                                 f"/enrollments/{s['id']}/commit") for i, s in enumerate(fresh)]
        assert all(f.result().status_code == 200 for f in resolved + committed)
    out, err = reextract.communicate(timeout=300)
    assert reextract.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["reextracted"] > 0
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Biometric).where(
            Biometric.modality == Modality.finger, Biometric.superseded_at.is_(None),
            Biometric.model_id == "guardid_mcc_old")) == 0
    faces, fingers = live(runtime, Modality.face), live(runtime, Modality.finger)
    for url in (url_a, url_b):  # both replicas hold every template, with no search run
        g = in_step(client(url, keys["admin"]))
        assert g['guardid_gallery_size{modality="face"}'] == faces
        assert g['guardid_gallery_size{modality="finger"}'] == fingers
