"""Choose the vote pool (how many best-voted fingers are scored by their codes before the
FULL_RERANK full comparisons) and the number of full comparisons at a given gallery size, on
tuning seeds: per pool size, the share of probes whose mate is among the FULL_RERANK best code
scores of the pool (and, for each ``--fulls`` count, among that many), and the time of the
code scores, position known and unknown.

    python bench/finger_pool_tune.py --set 90000 --mates 300 --sources 300 \\
        --sources-from 210000 --size 1000000 --mode lsh --pools 100 200 300 500 1000

Same gallery as bench/finger_scale.py (its ``load`` / ``gallery``). One vote per probe with
the largest pool; each smaller pool is that vote list's prefix, as ``FingerIndex.shortlist``
takes it.
"""

from __future__ import annotations

import argparse
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


def one_probe(idx: FingerIndex, probe, mate: int, position: int, pools: list[int]  # noqa: ANN001
              ) -> dict:
    """Return the mate's vote rank and, per pool, whether it reaches the FULL_RERANK full
    comparisons, the code-score time and the mate's rank by code score. Both times include
    building the probe's cylinders (~1.2 ms), as the public methods do on each call."""
    t = time.perf_counter()
    votes = idx.candidates(probe, max(pools), position=position)
    vote_ms = (time.perf_counter() - t) * 1000
    ids = [fid for fid, _ in votes]
    out = {"vote_rank": ids.index(mate) if mate in ids else -1, "vote_ms": vote_ms,
           "in_full": {}, "score_ms": {}, "score_rank": {}}
    for n in pools:
        t = time.perf_counter()
        scores = idx.code_scores(probe, ids[:n])
        out["score_ms"][n] = (time.perf_counter() - t) * 1000
        ranked = [ids[i] for i in np.argsort(-scores, kind="stable")]
        out["in_full"][n] = mate in ranked[:FULL_RERANK]
        out["score_rank"][n] = ranked.index(mate) if mate in ranked else 10 ** 6
    return out


def main() -> None:
    """Build the index, run every probe once per position mode, print JSON lines."""
    ap = argparse.ArgumentParser()
    add_set_args(ap, set_=90_000, mates=300, sources=300)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--mode", default="lsh")
    ap.add_argument("--pools", type=int, nargs="+", default=[100, 200, 300, 500, 1000])
    ap.add_argument("--fulls", type=int, nargs="+", default=[5, 10, 15, 20, 30],
                    help="full-comparison counts to report for each pool")
    args = ap.parse_args()
    engine = FingerprintEngine()
    d = load(engine, args)
    ids, pos, temps, packed = gallery(d, args.size, args.flip, np.random.default_rng(7),
                                      args.positions)
    t0 = time.perf_counter()
    idx = FingerIndex(engine, mode=args.mode)
    idx.add(ids, temps, positions=pos, packed=packed)
    print(json.dumps({"size": args.size, "mode": args.mode,
                      "build_s": round(time.perf_counter() - t0, 1)}), flush=True)
    gated = d["gated"]
    for known in (True, False):
        rows = [one_probe(idx, p, k, pos[k] if known else 0, args.pools)
                for k, p in enumerate(d["probes"])]
        res = {"known": known, "probes": len(rows), "gated": int(sum(gated)),
               "vote_p50_ms": round(float(np.median([r["vote_ms"] for r in rows])), 1),
               "mate_vote_rank_p99": float(np.percentile(
                   [r["vote_rank"] if r["vote_rank"] >= 0 else 10 ** 6 for r in rows], 99)),
               "pools": {}}
        for n in args.pools:
            hit = [r["in_full"][n] for r in rows]
            res["pools"][n] = {
                "mate_in_full": round(sum(hit) / len(hit), 4),
                "mate_in_full_gated": round(sum(h for h, g in zip(hit, gated, strict=True)
                                                if g) / max(1, sum(gated)), 4),
                "score_p50_ms": round(float(np.median([r["score_ms"][n] for r in rows])), 1),
                "mate_in_full_gated_by_full": {
                    f: round(sum(r["score_rank"][n] < f for r, g in zip(rows, gated, strict=True)
                                 if g) / max(1, sum(gated)), 4) for f in args.fulls}}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
