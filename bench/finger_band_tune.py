"""Try a vote by MinHash band collisions for the lsh finger index (tried 2026-12-08, NOT
shipped: it lost gated mates held out, BENCHMARKS.md): each finger's K most reliable codes
banded, a finger voted for by the band signatures it shares with the probe's codes, no
Hamming distance. Per layout (bands x minima per band x codes banded), the share of probes
whose mate reaches the FULL_RERANK full comparisons (vote -> best ``--pools`` -> code scores),
position known and unknown, and the share of banded codes a probe code collides with.

    python bench/finger_band_tune.py --set 90000 --mates 1000 --sources 1000 \
        --sources-from 210000 --size 100000 --layouts 16x4x12 24x4x16 --probe-codes 24 0

Same gallery as bench/finger_scale.py (its ``load`` / ``gallery``). The minima of every code
under the orderings of LSH_SEED are computed once; a layout BxRxK folds the first B x R of them
into B band signatures over each finger's K most reliable codes. Votes: ``all`` counts every
(probe code, band) a finger's banded codes share, ``best`` counts per probe code only the
finger's code that shares the most bands (:func:`collision_votes`)."""

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
from matching.finger.index import (  # noqa: E402
    FULL_RERANK,
    LSH_SEED,
    FingerIndex,
    codes,
)
from matching.finger.minhash import SPARSE_CHUNK, MinHasher, expand  # noqa: E402


def all_minima(hasher: MinHasher, packed: np.ndarray) -> np.ndarray:
    """Return the minima of every code under every ordering, in chunks."""
    return np.concatenate([hasher.minima(packed[at:at + SPARSE_CHUNK])
                           for at in range(0, len(packed), SPARSE_CHUNK)])


def collision_votes(probe: np.ndarray, rows: np.ndarray, owner: np.ndarray, pool: int
                    ) -> list[tuple[int, float]]:
    """Return the ``pool`` best-voted fingers as (id, votes), best first (ties by id), from
    (``probe`` code, stored code ``rows``) pairs, a pair once per band they share; ``owner``
    maps a row to its finger id (a finger's rows consecutive). Each probe code gives each
    finger the bands shared by the finger's code that shares most."""
    if not len(rows):
        return []
    n = int(rows.max()) + 1
    pair, count = np.unique(probe.astype(np.int64) * n + rows, return_counts=True)
    code, fid = pair // n, owner[pair % n]  # sorted by probe code, then row (so by finger)
    start = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (fid[1:] != fid[:-1])])
    fids, which = np.unique(fid[start], return_inverse=True)
    votes = np.bincount(which, np.maximum.reduceat(count, start).astype(float))
    best = np.argsort(-votes, kind="stable")[:pool]
    return list(zip(fids[best].tolist(), votes[best].tolist(), strict=True))


def ranked(owner_of: np.ndarray, probe_code: np.ndarray, rows: np.ndarray, pool: int
           ) -> dict[str, list[int]]:
    """Return the ``pool`` best-voted fingers by each vote (``best``: :func:`collision_votes`;
    ``all``: every collision counts) from the colliding (probe code, row) pairs, one pair per
    band shared."""
    fids, counts = np.unique(owner_of[rows], return_counts=True)
    return {"best": [f for f, _ in collision_votes(probe_code, rows, owner_of, pool)],
            "all": fids[np.argsort(-counts, kind="stable")[:pool]].tolist()}


def main() -> None:
    """Build the gallery, try every layout, print JSON lines."""
    ap = argparse.ArgumentParser()
    add_set_args(ap, set_=90_000, mates=300, sources=300, sources_from=210_000)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--layouts", nargs="+", default=["16x4x12"],
                    help="bands x minima per band x codes banded per finger")
    ap.add_argument("--pools", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--probe-codes", type=int, nargs="+", default=[24],
                    help="the probe's most reliable codes looked up (0: all)")
    args = ap.parse_args()
    engine = FingerprintEngine()
    d = load(engine, args)
    ids, pos, temps, packed = gallery(d, args.size, args.flip, np.random.default_rng(7),
                                      args.positions)
    idx = FingerIndex(engine, mode="flat")  # the codes, owners and partitions, as stored
    idx.add(ids, temps, positions=pos, packed=packed)
    owner, part = idx.row_owner, idx._part.view  # noqa: SLF001
    rank = np.arange(len(owner)) - np.array([idx.rows[i][0] for i in ids])[owner]
    shapes = [tuple(map(int, lay.split("x"))) for lay in args.layouts]
    hasher = MinHasher(idx.bits, max(b * r for b, r, _ in shapes), 1, LSH_SEED)
    widest = max(k for _, _, k in shapes)
    banded_all = np.flatnonzero(rank < widest)
    t0 = time.perf_counter()
    minima = all_minima(hasher, idx.stored_codes()[banded_all])
    print(json.dumps({"size": args.size, "codes": len(owner), "minima_s":
                      round(time.perf_counter() - t0, 1)}), flush=True)
    probes, gated = d["probes"], np.array(d["gated"])
    probe_codes = [codes(engine, p, 0) for p in probes]
    probe_minima = [hasher.minima(q) for q in probe_codes]
    for layout, looked_up in ((a, b) for a in args.layouts for b in args.probe_codes):
        bands, per_band, banded = map(int, layout.split("x"))
        take = np.flatnonzero(rank[banded_all] < banded)
        sig = hasher.fold(minima[take], bands, per_band)
        tables = []
        for b in range(bands):
            order = np.argsort(sig[:, b], kind="stable")
            tables.append((sig[order, b], banded_all[take][order]))
        out = {"layout": layout, "probe_codes": looked_up,
               "band_bytes_per_finger": bands * banded * 8}
        for known in (True, False):
            hit = {(v, p): [] for v in ("all", "best") for p in args.pools}
            touched = []
            for k in range(len(probes)):
                qs = hasher.fold(probe_minima[k][:looked_up or None], bands, per_band)
                pairs_i, pairs_r = [], []
                for b, (keys, rows) in enumerate(tables):
                    lo = np.searchsorted(keys, qs[:, b], "left")
                    hi = np.searchsorted(keys, qs[:, b], "right")
                    pairs_i.append(np.repeat(np.arange(len(qs)), hi - lo))
                    pairs_r.append(rows[expand(lo, hi)])
                i, r = np.concatenate(pairs_i), np.concatenate(pairs_r)
                if known:
                    keep = part[r] == pos[k]
                    i, r = i[keep], r[keep]
                touched.append(len(r) / max(1, len(qs)) / len(take))
                for v, best in ranked(owner, i, r, max(args.pools)).items():
                    for p in args.pools:
                        pool = best[:p]
                        cs = idx.code_scores(probes[k], pool)
                        full = [pool[j] for j in np.argsort(-cs, kind="stable")[:FULL_RERANK]]
                        hit[v, p].append(k in full)
            out["known" if known else "unknown"] = {
                "touched_share": round(float(np.mean(touched)), 6),
                **{f"{v}_pool{p}": [round(float(np.mean(h)), 4),
                                    round(float(np.mean(np.array(h)[gated])), 4)]
                   for (v, p), h in hit.items()}}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
