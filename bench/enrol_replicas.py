"""Enrolment commits per second on PostgreSQL with 4 stations on one replica and on two, for
two code trees side by side in one run (the code before the short lock and the new one), and
how long a replica takes to apply the other replica's commits under that load.

    python bench/enrol_replicas.py --old /work/wt/old --gallery 10000 --guards 40 --rounds 2

Each configuration gets a fresh copy (CREATE DATABASE ... TEMPLATE) of one seeded database:
``--gallery`` synthetic guards with a face template and two fingers each
(fixtures/gallery_seed.py). Enrolled people: LFW photos upscaled to station size, with their
own synthetic fingers (bench/enrollment_e2e.py). The sessions are opened and their captures
submitted first (not timed); then 4 stations commit them at once, station k on replica
k mod N, and commits per second are counted over the wall time of that phase.

Server CPU per commit: user + system time of the replicas' processes over the commit phase
(from /proc), divided by the commits; unlike commits per second it hardly depends on what
else the host runs, so it shows whether a tree does more work per commit.

Replica lag: every 100 ms a watcher reads each replica's ``/metrics`` (applied finger seq);
a change's lag is the time from its row's insert (``template_changes.at``, a moment before its
commit) until the *other* replica (not the one whose station wrote it) reports it applied.
Resolution is the 100 ms poll. The old code exposes no gallery gauges: its lag is "until
that replica's next search", reported as n/a; its ``/metrics`` is polled all the same, so the
measuring load is alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.enrollment_e2e import uploads  # noqa: E402
from bench.inspection_load import free_port  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STATIONS = 4
POLL_S = 0.1  # lag watcher period

SEED = """
import json, sys
import os
# The composition root moved out of api/ (issue 19); the old tree still has it there. Ask the
# tree itself: an editable install of another checkout would satisfy a bare import.
if os.path.exists("bootstrap.py"):
    from bootstrap import build_runtime
else:
    from api.runtime import build_runtime
from fixtures.gallery_seed import seed_face_gallery
from fixtures.synthetic_fingers import impression, master_print
from matching.finger import FingerprintEngine
from registry import migrate
from registry.settings import get_settings
rt = build_runtime(get_settings())
migrate.upgrade(rt.engine)
engine = FingerprintEngine()
pool = [engine.extract(impression(master_print(60_000 + i), 1)) for i in range(20)]
with rt.sessions() as s:
    seed_face_gallery(s, rt.vault, int(sys.argv[1]), seed=5, fingers=pool)
with rt.engine.begin() as conn:  # the seed inserts explicit ids: move PostgreSQL's sequence
    conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('guards', 'id'), "
                         "(SELECT max(id) FROM guards))")
rt.close()
"""

KEYS = """
import json
import os
# The composition root moved out of api/ (issue 19); the old tree still has it there. Ask the
# tree itself: an editable install of another checkout would satisfy a bare import.
if os.path.exists("bootstrap.py"):
    from bootstrap import build_runtime
else:
    from api.runtime import build_runtime
from registry import apikeys
from registry.models import Role
from registry.settings import get_settings
rt = build_runtime(get_settings())
with rt.sessions() as s:
    out = {"admin": apikeys.create(db_session=s, role=Role.admin, name="a").token,
           "stations": [apikeys.create(db_session=s, role=Role.station, name=f"s{i}").token
                        for i in range(2)]}
    s.commit()
rt.close()
print(json.dumps(out))
"""


def sql(url: str, statement: str, params: dict | None = None) -> list:
    """Run one statement in autocommit mode; return its rows (if any)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.execute(text(statement), params or {})
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def db_url(name: str) -> str:
    """Return the URL of database ``name`` on the local server."""
    return PG.rsplit("/", 1)[0] + "/" + name


def tree_env(tree: Path, base: dict, database: str) -> dict:
    """Environment running ``tree``'s code on ``database``."""
    return {**os.environ, **base, "PYTHONPATH": str(tree),
            "GUARDID_DATABASE_URL": db_url(database)}


def serve(tree: Path, env: dict, cpu: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``guardid serve`` from ``tree`` (pinned to core ``cpu`` when given); return it
    once it answers."""
    port = free_port()
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    proc = subprocess.Popen([*pin, sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(3000):
        try:
            # ready once the galleries have loaded (they load after the port is bound)
            if httpx.get(url + "/readyz", timeout=1).json().get("checks", {}).get(
                    "galleries") == "loading":
                raise httpx.HTTPError("galleries loading")
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def cpu_s(pids: list[int]) -> float:
    """Return the CPU time (user + system, s) the processes ``pids`` have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def open_one(c: httpx.Client, i: int, files: tuple[bytes, bytes, bytes]) -> int:
    """Open a session for guard i and submit its face and two fingers; return its id."""
    import datetime as dt

    from registry import idnumber

    s = c.post("/enrollments", json={"guard": {
        "name": f"复本{i}", "district": "蓟州区",
        "id_number": idnumber.make("120102", dt.date(1990, 2, 3), 2 * i + 1, male=True)}})
    if s.status_code != 201:
        raise RuntimeError(f"open failed: {s.status_code} {s.text[:300]}")
    sid = s.json()["id"]
    c.post(f"/enrollments/{sid}/face", files={"file": ("f.jpg", files[0])})
    for pos, img in ((2, files[1]), (7, files[2])):
        c.post(f"/enrollments/{sid}/fingers/{pos}", files={"file": ("f.png", img)})
    return sid


def stations(urls: list[str], tokens: list[str], jobs: list, work) -> list:  # noqa: ANN001
    """Run ``work(client, job)`` for every job with 4 stations (station k on replica k % N)."""
    lock, it, out = threading.Lock(), iter(jobs), []

    def station(k: int) -> None:
        r = k % len(urls)
        with httpx.Client(base_url=urls[r], timeout=300,
                          headers={"Authorization": f"Bearer {tokens[r]}"}) as c:
            while True:
                with lock:
                    job = next(it, None)
                if job is None:
                    return
                res = work(c, job)
                with lock:
                    out.append(res)

    threads = [threading.Thread(target=station, args=(k,)) for k in range(STATIONS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


class Watcher:
    """Polls each replica's applied finger seq; remembers when each value was first seen."""

    PATTERN = re.compile(r'^guardid_gallery_applied_seq\{modality="finger"\} (\S+)$', re.M)

    def __init__(self, urls: list[str], admin: str):
        self.urls, self.admin = urls, admin
        self.seen: list[list[tuple[float, int]]] = [[] for _ in urls]
        self.supported = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Watcher:
        """Start polling."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        clients = [httpx.Client(base_url=u, timeout=10,
                                headers={"Authorization": f"Bearer {self.admin}"})
                   for u in self.urls]
        while not self._stop.wait(POLL_S):
            for i, c in enumerate(clients):
                # Trees without the gauges are polled all the same, so every tree's servers
                # carry the same measuring load.
                m = self.PATTERN.search(c.get("/metrics").text)
                if m is None:
                    self.supported = False
                    continue
                self.seen[i].append((time.time(), int(float(m.group(1)))))

    def applied_at(self, replica: int, seq: int) -> float | None:
        """Return when ``replica`` first reported ``seq`` (or later) applied."""
        return next((t for t, s in self.seen[replica] if s >= seq), None)


def lags(database: str, watcher: Watcher, station_key_ids: list[int]) -> dict:
    """Return p50/p99 (s) of the time the other replica took to apply each finger change."""
    rows = sql(db_url(database), """
        SELECT c.seq, extract(epoch FROM c.at) AS at, b.station
        FROM template_changes c JOIN biometrics b ON b.id = c.biometric_id
        WHERE b.modality = 'finger' AND b.station = ANY(:keys)""", {"keys": station_key_ids})
    out = []
    for seq, at, station in rows:
        other = 1 - station_key_ids.index(station)
        t = watcher.applied_at(other, seq)
        if t is not None:
            out.append(t - float(at))
    if not out:
        return {"changes": 0}
    a = np.maximum(np.array(out), 0.0)
    return {"changes": len(a), "p50_s": round(float(np.median(a)), 3),
            "p99_s": round(float(np.percentile(a, 99)), 3), "max_s": round(float(a.max()), 3)}


def configuration(tree: Path, replicas: int, base: dict, template: str, work: list,
                  pin: bool = False) -> dict:
    """Run one (code tree, replica count) configuration on a fresh copy of the seed."""
    name = f"guardid_bench_{uuid.uuid4().hex[:8]}"
    sql(PG, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    env = tree_env(tree, base, name)
    procs = []
    try:
        keys = json.loads(subprocess.run([sys.executable, "-c", KEYS], cwd=tree, env=env,
                                         check=True, capture_output=True).stdout)
        t = time.perf_counter()
        # --pin: each replica on a core of its own (replicas on separate machines, as far as
        # one host can show it); PostgreSQL and the stations float over all cores.
        procs = [serve(tree, env, i % os.cpu_count() if pin else None) for i in range(replicas)]
        started = time.perf_counter() - t
        urls = [u for _, u in procs]
        tokens = keys["stations"][:replicas]
        sessions = stations(urls, tokens, list(enumerate(work)),
                            lambda c, job: (c.headers["Authorization"], open_one(c, *job)))
        # commit each session on the replica (and with the key) that opened it
        by_token = {f"Bearer {tok}": [s for a, s in sessions if a == f"Bearer {tok}"]
                    for tok in tokens}
        station_ids = [r[0] for r in sql(db_url(name),
                       "SELECT id FROM api_keys WHERE name IN ('s0', 's1') ORDER BY name")]
        watcher = Watcher(urls, keys["admin"]).start() if replicas > 1 else None
        lat: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()

        def commit_all(token: str, url: str, todo: list[int]) -> None:
            with httpx.Client(base_url=url, timeout=300,
                              headers={"Authorization": token}) as c:
                while True:
                    with lock:
                        if not todo:
                            return
                        sid = todo.pop()
                    t0 = time.perf_counter()
                    out = c.post(f"/enrollments/{sid}/commit").json()
                    with lock:
                        lat.append(time.perf_counter() - t0)
                        st = out.get("status") or out.get("code")
                        statuses[st] = statuses.get(st, 0) + 1

        threads = [threading.Thread(target=commit_all, args=(
            f"Bearer {tokens[k % replicas]}", urls[k % replicas],
            by_token[f"Bearer {tokens[k % replicas]}"])) for k in range(STATIONS)]
        pids = [proc.pid for proc, _ in procs]
        cpu0, t0 = cpu_s(pids), time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall, cpu = time.perf_counter() - t0, cpu_s(pids) - cpu0
        lag = {"n/a": "no replica to lag"}
        if watcher is not None:
            time.sleep(1.5)  # let the last changes reach the other replica
            watcher.stop()
            lag = (lags(name, watcher, station_ids) if watcher.supported else
                   {"n/a": "no gallery gauges: a replica applies others' commits only "
                           "at its next search"})
        a = np.array(lat)
        return {"code": tree.name, "replicas": replicas, "commits": len(a),
                "commits_per_s": round(len(a) / wall, 2),
                "commit_p50_s": round(float(np.median(a)), 3),
                "commit_p95_s": round(float(np.percentile(a, 95)), 3),
                "server_cpu_ms_per_commit": round(1000 * cpu / len(a), 1),
                "statuses": statuses, "server_start_s": round(started, 1), "lag": lag}
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=30)
        sql(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Seed once, then run every configuration; print JSON lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", type=Path, required=True, nargs="+",
                    help="worktree(s) of the code before (each runs beside this tree)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every configuration this many times, the trees interleaved")
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--gallery", type=int, default=10_000)
    ap.add_argument("--guards", type=int, default=40, help="commits per configuration")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2],
                    help="replica counts to run (default: 1 and 2)")
    ap.add_argument("--pin", action="store_true",
                    help="pin replica i to core i (the old code's global lock then shows)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="guardid-replicas-"))
    base = {"GUARDID_ENV": "test", "GUARDID_VAR_DIR": str(tmp),
            "GUARDID_KEYRING_FILE": str(tmp / "keyring.json"),
            "GUARDID_COMPUTE_PROCESSES": "0",
            "GUARDID_FINGER_THRESHOLDS_FILE": str(ROOT / "fixtures"
                                                  / "synthetic_finger_thresholds.json")}
    template = f"guardid_bench_seed_{uuid.uuid4().hex[:8]}"
    sql(PG, f'CREATE DATABASE "{template}"')
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", SEED, str(args.gallery)], cwd=ROOT, check=True,
                       env=tree_env(ROOT, base, template))
        print(json.dumps({"gallery": args.gallery, "seed_s": round(time.perf_counter() - t, 1)}),
              flush=True)
        work = uploads(args.datasets, args.guards)
        for replicas in args.replicas:
            for round_ in range(args.rounds):
                for tree in [*(t.resolve() for t in args.old), ROOT]:
                    out = configuration(tree, replicas, base, template, work, args.pin)
                    print(json.dumps({"round": round_ + 1, **out}), flush=True)
    finally:
        sql(PG, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
