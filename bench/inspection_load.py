"""Spot checks over HTTP under load: concurrent inspectors against a real `guardid serve`.

    python bench/inspection_load.py --datasets ../shared/data --gallery 100000 \
        --clients 8 --requests 160

Sets up a private database (SQLite by default, or --database-url), seeds a synthetic face
gallery, enrols real people from the shared sample photos through the API, then runs
``--clients`` threads (the load generator: httpx, one connection per client) posting
real photos to /inspections/verify (1:1) and /inspections/identify (1:N), then synthetic
fingerprint impressions to /inspections/verify. Prints JSON, ending with the audit trail
after the load (`guardid audit verify`: every check's entry sealed into the keyed chain, none
left unsealed, how long the verification took).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Enrolment photo and probe photos per person: face_recognition's sample photos (MIT) that
# pass the enrolment gate, and skimage's astronaut at station size.
PEOPLE = {"obama": ("obama.jpg", ["obama-720p.jpg", "obama-1080p.jpg"]),
          "astronaut": ("astronaut-1024", ["astronaut-900"])}


# Impression seeds a station tries in turn for one finger until one passes the gate.
RECAPTURES = (1, 11, 21, 31, 41)


def photo_bytes(samples: Path, name: str) -> bytes:
    """Return a sample photo's bytes, or the astronaut rendered at the named size."""
    if not name.startswith("astronaut-"):
        return (samples / name).read_bytes()
    import cv2
    from skimage import data

    size = int(name.split("-")[1])
    img = cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))[1].tobytes()


def free_port() -> int:
    """Return an unused TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finger_png(person: int, position: int, impression_seed: int) -> bytes:
    """A synthetic impression of one person's finger (their masters are fixed by the ids)."""
    import cv2

    from fixtures.synthetic_fingers import impression, master_print

    img = impression(master_print(70_000 + 10 * person + position), impression_seed)
    return cv2.imencode(".png", img)[1].tobytes()


def prepare(env: dict, gallery: int) -> dict[str, str]:
    """Migrate, create keys and seed the synthetic gallery; return the API keys."""
    os.environ.update(env)
    from bootstrap import build_runtime
    from fixtures.gallery_seed import seed_face_gallery
    from registry import apikeys, migrate
    from registry.models import Role
    from registry.settings import get_settings

    rt = build_runtime(get_settings())
    migrate.upgrade(rt.engine)
    with rt.sessions() as s:
        keys = {r: apikeys.create(db_session=s, role=Role(r), name=r).token
                for r in ("admin", "station", "inspector")}
        s.commit()
        t = time.perf_counter()
        seed_face_gallery(s, rt.vault, gallery, seed=11)
        keys["seed_s"] = round(time.perf_counter() - t, 1)
    rt.close()
    return keys


def enrol(c: httpx.Client, keys: dict, samples: Path) -> dict[str, str]:
    """Enrol each sample person through the API and issue a certificate; return numbers."""
    h = {"Authorization": f"Bearer {keys['admin']}"}
    org = c.post("/organisations", headers=h, json={
        "name": "压测保安公司", "org_type": "security_company", "licence_no": "BENCH-1",
        "licence_status": "licensed", "district": "蓟州区"}).json()["id"]
    from registry import idnumber

    numbers = {}
    for i, (who, (photo, _)) in enumerate(PEOPLE.items()):
        gid = c.post("/guards", headers=h, json={
            "name": f"压测{who}", "id_number": idnumber.make("120101", dt.date(1990, 1, 1),
                                                            900 + 2 * i, male=True),
            "employer_id": org, "district": "蓟州区", "duty_status": "on_duty",
            "background_check": "passed"}).json()["id"]
        s = c.post("/enrollments", headers=h, json={"guard_id": gid}).json()
        f = c.post(f"/enrollments/{s['id']}/face", headers=h,
                   files={"file": (photo, photo_bytes(samples, photo))}).json()
        assert f["passed"], f
        for pos in (2, 7):
            for capture in RECAPTURES:  # as at a station: capture again when the gate says so
                r = c.post(f"/enrollments/{s['id']}/fingers/{pos}", headers=h,
                           files={"file": ("f.png", finger_png(i, pos, capture))}).json()
                if r["passed"]:
                    break
            assert r["passed"], r
        assert c.post(f"/enrollments/{s['id']}/commit", headers=h).json()["status"] == "committed"
        numbers[who] = f"BENCH-{i:04d}"
        c.post("/certificates", headers=h, json={"number": numbers[who], "guard_id": gid,
                                                 "issue_date": "2026-01-01"})
    return numbers


def cpu_seconds(pid: int) -> dict[str, float]:
    """Return CPU seconds used so far by ``pid`` ("http") and its descendants ("compute")."""
    tick = os.sysconf("SC_CLK_TCK")

    def own(p: int) -> tuple[float, list[int]]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(") ", 1)[1].split()
            kids = [int(c) for t in Path(f"/proc/{p}/task").iterdir()
                    for c in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return 0.0, []
        return (int(fields[11]) + int(fields[12])) / tick, kids

    http, todo, compute = *own(pid), 0.0
    while todo:
        used, more = own(todo.pop())
        compute, todo = compute + used, todo + more
    return {"http": http, "compute": compute}


def load(url: str, key: str, jobs: list[tuple[str, dict, dict]], clients: int,
         server_pid: int) -> dict:
    """Run ``jobs`` (path, form, files) on ``clients`` threads; return latency statistics
    and the CPU each side spent per request (server HTTP process, its compute processes,
    this load generator)."""
    lat: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    it = iter(jobs)

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {key}"}) as c:
            while True:
                with lock:
                    job = next(it, None)
                if job is None:
                    return
                t = time.perf_counter()
                r = c.post(job[0], data=job[1], files=job[2])
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    lat.append(ms)
                    o = r.json().get("outcome", r.json().get("code"))
                    outcomes[o] = outcomes.get(o, 0) + 1

    server0, client0 = cpu_seconds(server_pid), time.process_time()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    server1, client = cpu_seconds(server_pid), time.process_time() - client0
    per = {k: round((server1[k] - server0[k]) / len(jobs) * 1000, 1) for k in server1}
    a = np.array(lat)
    return {"requests": len(a), "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1),
            "max_ms": round(float(a.max()), 1), "throughput_rps": round(len(a) / wall, 2),
            "outcomes": outcomes,
            "cpu_ms_per_request": {"server_http": per["http"], "server_compute": per["compute"],
                                   "load_generator": round(client / len(jobs) * 1000, 1)}}


def audit_summary(env: dict) -> dict:
    """Seal and verify the audit chain the load wrote (a CLI process beside the server)."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cli.main", "audit", "verify", "--json"],
                          cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    report = json.loads(proc.stdout)
    return {"ok": report["ok"], "entries": report["checked"], "unsealed": report["unsealed"],
            "problems": report["problem_count"], "verify_s": round(time.perf_counter() - t, 1)}


def main() -> None:
    """Set up, serve, load, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--gallery", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=160)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    samples = args.datasets / "faces" / "samples"
    if not samples.exists():
        sys.exit(f"needs the shared sample photos at {samples}")
    tmp = Path(tempfile.mkdtemp(prefix="guardid-bench-"))
    # Synthetic fingerprints are matched with thresholds calibrated on the generator (as the
    # test suite does); the shipped ones are for real sensors (see BENCHMARKS.md).
    env = {"GUARDID_FINGER_THRESHOLDS_FILE": str(ROOT / "fixtures"
                                                 / "synthetic_finger_thresholds.json"),
           "GUARDID_ENV": "test", "GUARDID_VAR_DIR": str(tmp),
           "GUARDID_KEYRING_FILE": str(tmp / "keyring.json"),
           "GUARDID_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}"}
    keys = prepare(env, args.gallery)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                               "--workers", str(args.workers)], cwd=ROOT,
                              env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                # ready once the galleries have loaded (they load after the port is bound)
                if httpx.get(url + "/readyz", timeout=1).json().get("checks", {}).get(
                        "galleries") == "loading":
                    raise httpx.HTTPError("galleries loading")
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=300) as c:
            numbers = enrol(c, keys, samples)
        probes = [(who, photo_bytes(samples, p)) for who, (_, ps) in PEOPLE.items()
                  for p in ps]
        verify_jobs = [("/inspections/verify", {"certificate_number": numbers[w]},
                        {"face": ("p.jpg", b)})
                       for w, b in (probes[i % len(probes)] for i in range(args.requests))]
        finger_jobs = [("/inspections/verify", {"certificate_number": numbers[w],
                                                "finger_position": "7"},
                        {"finger": ("f.png", finger_png(i, 7, 2 + n % 3))})
                       for n, (i, w) in enumerate((k % len(PEOPLE), list(PEOPLE)[k % len(PEOPLE)])
                                                  for k in range(args.requests))]
        identify_jobs = [("/inspections/identify", {}, {"face": ("p.jpg", b)})
                         for _, b in (probes[i % len(probes)] for i in range(args.requests))]
        # Warm-up: every worker process loads its models and its gallery copy.
        load(url, keys["inspector"], identify_jobs[:8], 4, server.pid)
        out = {"gallery": args.gallery, "clients": args.clients, "server_workers":
               args.workers, "seed_s": keys["seed_s"],
               "probe_photos": [f"{w}:{p}" for w, (_, ps) in PEOPLE.items() for p in ps],
               "verify_1to1_face": load(url, keys["inspector"], verify_jobs, args.clients,
                                        server.pid),
               "identify_1toN_face": load(url, keys["inspector"], identify_jobs,
                                          args.clients, server.pid),
               "verify_1to1_finger": load(url, keys["inspector"], finger_jobs, args.clients,
                                          server.pid)}
        out["audit"] = audit_summary(env)
        print(json.dumps(out, ensure_ascii=False))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
