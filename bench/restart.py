"""Restart to ready: how long a start takes to have both galleries current, and its peak RSS.

Seeds a SQLite database with ``--guards`` guards, each with one face and ``--positions``
fingers (ISO positions 1..N; synthetic minutiae, 40 a finger), then measures, each in a fresh
process (peak RSS is the process's own):

- ``before``: the code before this change (``--before``, a tree of it; made with ``git
  archive`` of ``--base`` when not given): its full replay of the change feed;
- ``rebuild_1_process`` / ``rebuild``: this code with no snapshot: the streamed replay with the
  finger codes built in-process / on every core (and, not counted in the time to ready, the
  snapshot written after it);
- ``snapshot``: this code loading that snapshot (nothing after it);
- ``snapshot+tail``: the same after ``--tail`` more guards were committed;
- ``healthz``: seconds from ``guardid serve`` starting to its first /healthz answer and to
  /readyz ready, with the snapshot (this code) and for the code before.

    python bench/restart.py --guards 2000 --positions 10
    python bench/restart.py --guards 20000 --positions 10 --finger-mode lsh \
        --skip before rebuild_1_process serve_before     # 200k fingers, no code-before runs

``--finger-mode`` sets GUARDID_FINGER_INDEX_MODE for this code's runs; ``--skip`` leaves out
runs (a skipped run prints null).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = """
import sys
import numpy as np
from sqlalchemy import select
from biometrics import writer
from biometrics.models import Modality
from biometrics.purposes import FINGER_TEMPLATE_PURPOSE
from bootstrap import build_runtime
from fixtures.gallery_seed import seed_face_gallery
from matching.finger import MODEL_ID, FingerprintTemplate
from registry import migrate
from registry.models import Guard, utcnow
from registry.settings import get_settings
guards, positions, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rt = build_runtime(get_settings())
migrate.upgrade(rt.engine)
rng = np.random.default_rng(seed)
def finger():
    m = np.column_stack([rng.uniform(30, 270, 40), rng.uniform(30, 370, 40),
                         rng.uniform(0, 2 * np.pi, 40), rng.integers(1, 3, 40),
                         rng.uniform(0.5, 1.0, 40)]).astype(np.float32)
    return FingerprintTemplate(m, 300, 400, 70.0)
with rt.sessions() as s:
    seed_face_gallery(s, rt.vault, guards, seed=seed)
    ids = s.scalars(select(Guard.id).order_by(Guard.id.desc()).limit(guards)).all()
    now = utcnow()
    for lo in range(0, len(ids), 500):
        rows = [{"guard_id": g, "modality": Modality.finger, "position": p,
                 "template_enc": rt.vault.encrypt(s, finger().to_bytes(),
                                                  purpose=FINGER_TEMPLATE_PURPOSE),
                 "quality": 70.0, "model_id": MODEL_ID, "station": "bench",
                 "captured_at": now} for g in ids[lo:lo + 500] for p in range(1, positions + 1)]
        writer.store_rows(s, rows)
        s.commit()
rt.close()
"""

BEFORE = """
import json, resource, time
from registry.settings import get_settings
try:
    from bootstrap import build_runtime
except ImportError:
    from api.runtime import build_runtime
rt = build_runtime(get_settings())
t = time.perf_counter()
with rt.sessions() as s:
    rt.face_gallery.catch_up(s, rt.vault)
    rt.finger_gallery.catch_up(s, rt.vault)
print(json.dumps({"seconds": time.perf_counter() - t, "fingers": len(rt.finger_gallery.owner),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

AFTER = """
import json, resource, sys, time
from pathlib import Path
from biometrics.loader import GalleryLoader
from bootstrap import build_runtime
from registry.settings import get_settings
rt = build_runtime(get_settings())
galleries = (rt.face_gallery, rt.finger_gallery)
t = time.perf_counter()
loader = GalleryLoader(engine=rt.engine, sessions=rt.sessions, vault=rt.vault,
                       galleries=galleries, snapshot_dir=Path(sys.argv[1]), interval_s=3600,
                       shutdown_s=600, code_processes=int(sys.argv[2])).start()
loader.loaded.wait()
ready = time.perf_counter() - t
rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
loader.stop()
print(json.dumps({"seconds": ready, "with_snapshot_write": time.perf_counter() - t,
                  "fingers": len(rt.finger_gallery.owner), "report": loader.report,
                  "peak_rss_at_ready_mb": rss_ready,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(tree: Path, script: str, env: dict, *args: str) -> dict:
    """Run ``script`` with ``tree``'s code; return the JSON it prints."""
    out = subprocess.run([sys.executable, "-c", script, *args], cwd=tree, check=True,
                         env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def served(tree: Path, env: dict, port: int) -> dict:
    """Return seconds to the first /healthz answer and to /readyz ready of ``guardid serve``."""
    import httpx

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    health = ready = None
    try:
        while ready is None and time.perf_counter() - t < 3600:
            try:
                if health is None:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    health = time.perf_counter() - t
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                    ready = time.perf_counter() - t
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"healthz_s": health, "ready_s": ready}


def main() -> int:
    """Seed, measure every start, print one JSON document."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guards", type=int, default=2000)
    ap.add_argument("--positions", type=int, default=10)
    ap.add_argument("--tail", type=int, default=20, help="guards committed after the snapshot")
    ap.add_argument("--before", type=Path, help="a tree of the code before (default: --base)")
    ap.add_argument("--base", default="main", help="git revision of the code before")
    ap.add_argument("--finger-mode", default="flat", choices=["flat", "lsh"])
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["before", "rebuild_1_process", "serve_before", "serve_snapshot"])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="guardid-restart-"))
    before = args.before
    if before is None:
        before = work / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    env = {**os.environ, "GUARDID_DATABASE_URL": f"sqlite:///{work / 'g.db'}",
           "GUARDID_VAR_DIR": str(work / "var"), "GUARDID_KEYRING_FILE": str(work / "k.json"),
           "GUARDID_ENV": "test", "GUARDID_COMPUTE_PROCESSES": "0"}
    mine = {**env, "GUARDID_FINGER_INDEX_MODE": args.finger_mode}  # this code's runs
    snaps = work / "snapshots"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", SEED, str(args.guards), str(args.positions), "0"],
                   cwd=ROOT, env=env, check=True)
    out = {"guards": args.guards, "fingers": args.guards * args.positions,
           "finger_mode": args.finger_mode, "seed_s": round(time.perf_counter() - t, 1)}
    skip = set(args.skip)
    out["before"] = None if "before" in skip else run(before, BEFORE, env)
    out["rebuild_1_process"] = (None if "rebuild_1_process" in skip else
                                run(ROOT, AFTER, mine, str(work / "unused"), "1"))
    cores = str(os.cpu_count() or 1)
    out["rebuild"] = run(ROOT, AFTER, mine, str(snaps), cores)
    out["snapshot"] = run(ROOT, AFTER, mine, str(snaps), cores)
    out["snapshot_bytes"] = sum(p.stat().st_size for p in snaps.iterdir())
    subprocess.run([sys.executable, "-c", SEED, str(args.tail), str(args.positions), "1"],
                   cwd=ROOT, env=env, check=True)
    out["snapshot+tail"] = run(ROOT, AFTER, mine, str(snaps), cores)
    serve_env = {**mine, "GUARDID_SNAPSHOT_DIR": str(snaps)}
    out["serve_before"] = None if "serve_before" in skip else served(before, env, 18711)
    out["serve_snapshot"] = (None if "serve_snapshot" in skip else
                             served(ROOT, serve_env, 18712))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
