"""Choose the MinHash banding constants (LSH_BANDS, LSH_PER_BAND) on tuning seeds: for each
configuration, the share of probes whose mate reaches the full-matching shortlist (against
the flat scan's on the same probes), the share of stored codes a probe code is compared
with, and the shortlist time (votes + code scores; full MCC excluded: it does not depend on
the mode), position known and unknown.

    python bench/finger_lsh_tune.py --set 90000 --mates 60 --sources 60 --size 100000 \\
        --configs 16x3 24x4 12x2

Same gallery as bench/finger_scale.py (its ``load`` / ``gallery``).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.finger_scale import add_set_args, gallery, load  # noqa: E402
from matching.finger import FingerprintEngine  # noqa: E402
from matching.finger.index import FULL_RERANK, FingerIndex  # noqa: E402


def measure(idx: FingerIndex, d: dict, pos: list[int], known: bool) -> dict:
    """Return per-probe hits, touched shares and shortlist times of one index."""
    found, share, lat = [], [], []
    for k, p in enumerate(d["probes"]):
        t = time.perf_counter()
        short = idx.shortlist(p, FULL_RERANK, position=pos[k] if known else 0)
        lat.append((time.perf_counter() - t) * 1000)
        share.append(idx.last_stats.touched_share)
        found.append(any(f == k for f, _ in short))
    return {"found": found, "share": float(np.mean(share)),
            "p50_ms": float(np.median(lat)), "p95_ms": float(np.percentile(lat, 95))}


def summary(m: dict, flat: dict | None, gated: list[bool]) -> dict:
    """Return the printable figures of one measurement."""
    f = m["found"]
    out = {"mate_in_full": sum(f) / len(f),
           "mate_in_full_gated": sum(a for a, g in zip(f, gated, strict=True) if g)
           / max(1, sum(gated)),
           "touched_share": round(m["share"], 5), "p50_ms": round(m["p50_ms"], 1),
           "p95_ms": round(m["p95_ms"], 1)}
    if flat is not None:
        pairs = list(zip(f, flat["found"], strict=True))
        out["mate_in_full_where_flat"] = sum(a for a, b in pairs if b) / max(
            1, sum(b for _, b in pairs))
    return out


def main() -> None:
    """Run the flat reference and each configuration; print JSON lines."""
    ap = argparse.ArgumentParser()
    add_set_args(ap, set_=90_000, mates=60, sources=60)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--configs", nargs="+", default=["16x3"], help="BANDSxPER_BAND")
    ap.add_argument("--no-flat", action="store_true")
    args = ap.parse_args()
    engine = FingerprintEngine()
    d = load(engine, args)
    ids, pos, temps, packed = gallery(d, args.size, args.flip, np.random.default_rng(7),
                                      args.positions)
    flat: dict = {}
    if not args.no_flat:
        idx = FingerIndex(engine, mode="flat")
        idx.add(ids, temps, positions=pos, packed=packed)
        for known in (True, False):
            flat[known] = measure(idx, d, pos, known)
            print(json.dumps({"mode": "flat", "known": known,
                              **summary(flat[known], None, d["gated"])}), flush=True)
        del idx
    for config in args.configs:
        bands, per_band = (int(x) for x in config.split("x"))
        gc.collect()
        t0 = time.perf_counter()
        idx = FingerIndex(engine, mode="lsh", bands=bands, per_band=per_band)
        idx.add(ids, temps, positions=pos, packed=packed)
        build = time.perf_counter() - t0
        for known in (True, False):
            m = measure(idx, d, pos, known)
            print(json.dumps({"mode": "lsh", "bands": bands, "per_band": per_band,
                              "build_s": round(build, 1), "known": known,
                              **summary(m, flat.get(known), d["gated"])}), flush=True)
        del idx


if __name__ == "__main__":
    main()
