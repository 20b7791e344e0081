"""Enrolment end to end over HTTP: one guard = open, one face photo, two fingerprints,
commit (with 1:N de-duplication of the face and both fingers against the whole gallery).

    python bench/enrollment_e2e.py --datasets ../shared/data --gallery 10000 --guards 24

Gallery: synthetic guards with a synthetic face template and two fingers each (fingers are
rotated copies of image-generated synthetic prints; see fixtures/gallery_seed.py).
Enrolled people: LFW people's photos upscaled to station size (1024 px, then an unsharp
mask, because upscaling blurs below the gate), keeping those whose photo passes the
enrolment gate (most LFW photos are turned too far), and each guard's own synthetic
fingers (prints with at least 20 minutiae). Commit outcomes are counted. Measures one
station, then four stations in parallel.
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench.inspection_load import free_port  # noqa: E402


def prepare(env: dict, gallery: int) -> dict:
    """Migrate, create keys, seed the gallery with faces and fingers."""
    os.environ.update(env)
    from bootstrap import build_runtime
    from fixtures.gallery_seed import seed_face_gallery
    from fixtures.synthetic_fingers import impression, master_print
    from matching.finger import FingerprintEngine
    from registry import apikeys, migrate
    from registry.models import Role
    from registry.settings import get_settings

    rt = build_runtime(get_settings())
    migrate.upgrade(rt.engine)
    engine = FingerprintEngine()
    pool = [engine.extract(impression(master_print(60_000 + i), 1)) for i in range(100)]
    with rt.sessions() as s:
        key = apikeys.create(db_session=s, role=Role.station, name="bench").token
        s.commit()
        t = time.perf_counter()
        seed_face_gallery(s, rt.vault, gallery, seed=5, fingers=pool)
        seeded = time.perf_counter() - t
    rt.close()
    return {"key": key, "seed_s": round(seeded, 1)}


def faces(datasets: Path, n: int) -> list[bytes]:
    """Return n station-size photos of different people: LFW's first photo of each person,
    upscaled to 1024 px (LFW's own 150 px photos are below the enrolment gate); the
    astronaut when LFW is absent."""
    import cv2
    from skimage import data

    from matching.face import FaceEngine
    from matching.imageio import decode

    lfw = datasets / "faces" / "lfw-dev" / "images"
    engine = FaceEngine()
    out = []
    for person in sorted(lfw.iterdir()) if lfw.is_dir() else []:
        if len(out) == n:
            break
        img = cv2.resize(cv2.imread(str(sorted(person.iterdir())[0])), (1024, 1024),
                         interpolation=cv2.INTER_CUBIC)
        blur = cv2.GaussianBlur(img, (0, 0), 3)
        sharp = cv2.addWeighted(img, 2.5, blur, -1.5, 0)  # unsharp mask: upscaling blurs
        jpeg = cv2.imencode(".jpg", sharp)[1].tobytes()
        decoded = decode(jpeg, max_bytes=len(jpeg), max_pixels=1024 * 1024).pixels
        if engine.analyze(decoded).template is not None:  # the gate sees the JPEG, as served
            out.append(jpeg)
    astronaut = cv2.cvtColor(cv2.resize(data.astronaut(), (1024, 1024)), cv2.COLOR_RGB2BGR)
    while len(out) < n:
        out.append(cv2.imencode(".jpg", astronaut)[1].tobytes())
    return out


def uploads(datasets: Path, n: int) -> list[tuple[bytes, bytes, bytes]]:
    """Return (face jpeg, finger 2 png, finger 7 png) for n guards."""
    import cv2

    from fixtures.synthetic_fingers import impression, master_print
    from matching.finger import FingerprintEngine

    engine, masters = FingerprintEngine(), iter(range(61_000, 71_000))

    def finger() -> bytes:
        """The next synthetic finger whose impression has enough minutiae to enrol."""
        while True:
            img = impression(master_print(next(masters)), 1)
            if len(engine.extract(img).minutiae) >= 20:
                return cv2.imencode(".png", img)[1].tobytes()

    return [(face, finger(), finger()) for face in faces(datasets, n)]


def enrol_one(c: httpx.Client, i: int, files: tuple[bytes, bytes, bytes]
              ) -> tuple[float, str, dict[str, float]]:
    """Enrol guard i; return (seconds, commit status, seconds per step)."""
    import datetime as dt

    from registry import idnumber

    steps: dict[str, float] = {}

    def step(name: str, method, *args, **kwargs) -> httpx.Response:  # noqa: ANN001
        t = time.perf_counter()
        r = method(*args, **kwargs)
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
        return r

    t0 = time.perf_counter()
    s = step("open", c.post, "/enrollments", json={"guard": {
        "name": f"压测{i}", "id_number": idnumber.make("120102", dt.date(1988, 1, 1),
                                                      2 * i + 1, male=True),
        "district": "蓟州区"}}).json()
    step("face", c.post, f"/enrollments/{s['id']}/face", files={"file": ("f.jpg", files[0])})
    for pos, img in ((2, files[1]), (7, files[2])):
        step("fingers", c.post, f"/enrollments/{s['id']}/fingers/{pos}",
             files={"file": ("f.png", img)})
    out = step("commit", c.post, f"/enrollments/{s['id']}/commit").json()
    status = out.get("status") or f"{out.get('code')}: {out.get('message')}"
    return time.perf_counter() - t0, status, steps


def run(url: str, key: str, work: list, stations: int, offset: int) -> dict:
    """Enrol every item of ``work`` with ``stations`` parallel stations."""
    lat, statuses, lock, it = [], {}, threading.Lock(), iter(enumerate(work))
    per_step: dict[str, list[float]] = {}

    def station() -> None:
        with httpx.Client(base_url=url, timeout=300,
                          headers={"Authorization": f"Bearer {key}"}) as c:
            while True:
                with lock:
                    job = next(it, None)
                if job is None:
                    return
                secs, status, steps = enrol_one(c, offset + job[0], job[1])
                with lock:
                    lat.append(secs)
                    for name, v in steps.items():
                        per_step.setdefault(name, []).append(v)
                    statuses[status] = statuses.get(status, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=station) for _ in range(stations)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    a = np.array(lat)
    return {"stations": stations, "guards": len(a), "p50_s": round(float(np.median(a)), 2),
            "p95_s": round(float(np.percentile(a, 95)), 2),
            "guards_per_minute": round(len(a) / wall * 60, 1), "commit_status": statuses,
            "step_p50_s": {k: round(float(np.median(v)), 3) for k, v in per_step.items()}}


def main() -> None:
    """Set up, serve, enrol, print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--gallery", type=int, default=10_000)
    ap.add_argument("--guards", type=int, default=24)
    ap.add_argument("--workers", type=int, default=1, help="HTTP processes")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="guardid-e2e-"))
    # Synthetic fingerprints are matched with thresholds calibrated on the generator (as the
    # test suite does); the shipped ones are for real sensors (see BENCHMARKS.md).
    env = {"GUARDID_FINGER_THRESHOLDS_FILE": str(ROOT / "fixtures"
                                                 / "synthetic_finger_thresholds.json"),
           "GUARDID_ENV": "test", "GUARDID_VAR_DIR": str(tmp),
           "GUARDID_KEYRING_FILE": str(tmp / "keyring.json"),
           "GUARDID_DATABASE_URL": f"sqlite:///{tmp / 'e2e.db'}"}
    prep = prepare(env, args.gallery)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                               "--workers", str(args.workers)], cwd=ROOT,
                              env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        t = time.perf_counter()
        for _ in range(3000):  # the lifespan replays the gallery before serving
            try:
                # ready once the galleries have loaded (they load after the port is bound)
                if httpx.get(url + "/readyz", timeout=1).json().get("checks", {}).get(
                        "galleries") == "loading":
                    raise httpx.HTTPError("galleries loading")
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        started = time.perf_counter() - t
        work = uploads(args.datasets, args.guards * 2)
        one = run(url, prep["key"], work[:args.guards], 1, 0)
        four = run(url, prep["key"], work[args.guards:], 4, args.guards)
        print(json.dumps({"gallery": args.gallery, "seed_s": prep["seed_s"],
                          "server_start_s": round(started, 1), "server_workers": args.workers,
                          "one_station": one, "four_stations": four}, indent=1))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
