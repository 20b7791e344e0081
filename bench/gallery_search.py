"""Gallery search at scale on synthetic embeddings shaped like dlib's: FAISS exact, sq16 (half-
precision scan + exact re-rank) and HNSW, against the numpy brute force that
face_recognition's face_distance does.

    python bench/gallery_search.py --sizes 100000 1000000 [--queries 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.synthetic_embeddings import gallery  # noqa: E402
from matching.index import FaceIndex  # noqa: E402


def rss_mb() -> float:
    """Return this process's current resident memory in MiB (from /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latencies(fn, probes: np.ndarray) -> np.ndarray:
    """Return per-query wall times (ms) of fn(single probe)."""
    out = []
    for p in probes:
        t = time.perf_counter()
        fn(p[None, :])
        out.append((time.perf_counter() - t) * 1000)
    return np.array(out)


def run(n: int, queries: int, seed: int) -> dict:
    """Benchmark one gallery size; return the measurements."""
    g = gallery(n, probes=queries, seed=seed)
    ids = np.arange(n, dtype=np.int64)
    result: dict = {"n": n, "queries": len(g.probes)}
    exact_top: list[int] = []
    for mode in ("exact", "sq16", "hnsw"):
        before = rss_mb()
        t = time.perf_counter()
        index = FaceIndex(mode=mode)
        for s in range(0, n, 100_000):
            index.add(ids[s:s + 100_000], g.vectors[s:s + 100_000])
        build = time.perf_counter() - t
        mem = (rss_mb() - before) * 1024 * 1024 / n
        lat = latencies(lambda q, ix=index: ix.search(q, k=10), g.probes[:300])
        t = time.perf_counter()
        res = index.search(g.probes, k=10)
        batch_qps = len(g.probes) / (time.perf_counter() - t)
        top = [r[0].id for r in res]
        hit = float(np.mean(g.identity[top] == g.probe_identity))
        entry = {"build_s": round(build, 2), "bytes_per_template": round(mem),
                 "p50_ms": round(float(np.percentile(lat, 50)), 3),
                 "p99_ms": round(float(np.percentile(lat, 99)), 3),
                 "batch_qps": round(batch_qps), "rank1_identification": round(hit, 4)}
        if mode == "exact":
            exact_top = top
            exact10 = [[h.id for h in r] for r in res]
        else:
            entry["top10_identical_to_exact"] = float(np.mean(
                [a == [h.id for h in b] for a, b in zip(exact10, res, strict=True)]))
            entry["recall_at_1_vs_exact"] = float(np.mean(np.array(top) == np.array(exact_top)))
            entry["recall_at_10_vs_exact"] = float(np.mean(
                [len(set(a) & {h.id for h in b}) / 10 for a, b in zip(exact10, res,
                                                                      strict=True)]))
        result[mode] = entry
        del index
    # face_recognition.face_distance: np.linalg.norm(face_encodings - face_to_compare, axis=1)
    lat = latencies(lambda q: np.argmin(np.linalg.norm(g.vectors - q, axis=1)), g.probes[:30])
    result["numpy_face_distance"] = {"p50_ms": round(float(np.percentile(lat, 50)), 2)}
    for mode in ("exact", "sq16", "hnsw"):
        result[mode]["speedup_vs_numpy"] = round(
            result["numpy_face_distance"]["p50_ms"] / result[mode]["p50_ms"], 1)
    return result


def main() -> None:
    """Run the sizes asked for and print one JSON object per size."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for n in args.sizes:
        print(json.dumps(run(n, args.queries, args.seed)), flush=True)


if __name__ == "__main__":
    main()
