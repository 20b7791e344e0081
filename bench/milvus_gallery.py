"""The Milvus gallery backend beside the embedded galleries, in one run (issue 23).

    python bench/finger_scale_gen.py --first-seed 80000 --mates 120 --sources 120   # cached
    python bench/milvus_gallery.py --faces 1000000 --fingers 100000

Starts a Milvus standalone server (the ``milvus`` package) in a temporary folder unless
``--uri`` names one. Faces: ``--faces`` synthetic dlib-like vectors (fixtures/
synthetic_embeddings.py) written to Milvus in bulk (ingest rate), then ``--queries`` probes
searched by both backends: p50/p95 and recall@1 of Milvus against the embedded exact index.
Fingers: the gallery of bench/finger_scale.py (image-generated mates, spliced and code-level
fillers, ``--positions`` ISO positions); each mate's probe is searched through the Milvus
finger gallery (nearest codes from Milvus, guardid's votes, code scores and full MCC) and the
embedded flat index: p50/p95 and the share of probes whose mate reaches full matching.
De-duplication: one face search plus two finger searches (position known), p95.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.finger_scale import gallery as finger_gallery  # noqa: E402
from bench.finger_scale import load  # noqa: E402
from biometrics.milvus.gallery import MilvusFingerGallery  # noqa: E402
from biometrics.milvus.store import MilvusStore  # noqa: E402
from fixtures.synthetic_embeddings import gallery as face_gallery  # noqa: E402
from matching.finger import FingerprintEngine  # noqa: E402
from matching.finger.index import FULL_RERANK, FingerIndex, codes  # noqa: E402
from matching.index import FaceIndex  # noqa: E402

BATCH = 20_000


def pct(ms: list[float]) -> dict:
    """Return p50/p95 of latencies in ms."""
    a = np.array(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1)}


def server_rss_mb() -> float:
    """Return the resident memory of the local Milvus server processes, MiB."""
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if text.startswith("Name:\tmilvus"):
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return round(total, 1)


def faces(store: MilvusStore, args: argparse.Namespace) -> tuple[dict, np.ndarray, FaceIndex]:
    """Ingest, search and compare the face gallery; return results, probes, embedded index."""
    g = face_gallery(args.faces, probes=args.queries, seed=args.seed)
    out: dict = {"faces": args.faces}
    t = time.perf_counter()
    for lo in range(0, args.faces, BATCH):
        hi = min(args.faces, lo + BATCH)
        store.put_faces(list(range(lo, hi)), g.identity[lo:hi].tolist(), g.vectors[lo:hi])
    store.faces.flush()
    out["milvus_ingest_per_s"] = round(args.faces / (time.perf_counter() - t))
    t = time.perf_counter()
    embedded = FaceIndex(mode="exact")
    embedded.add(list(range(args.faces)), g.vectors)
    out["embedded_build_s"] = round(time.perf_counter() - t, 1)
    got, want, tm, te = [], [], [], []
    for p in g.probes:
        t = time.perf_counter()
        got.append(store.search_faces(p, 20)[0][0])
        tm.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        want.append(embedded.search(p, k=20)[0][0].id)
        te.append((time.perf_counter() - t) * 1000)
    out["milvus_identify"], out["embedded_identify"] = pct(tm), pct(te)
    out["recall_at_1_vs_embedded"] = round(float(np.mean(np.array(got) == np.array(want))), 4)
    return out, g.probes, embedded


def fingers(store: MilvusStore, args: argparse.Namespace) -> tuple[dict, MilvusFingerGallery,
                                                                   FingerIndex, list]:
    """Ingest, search and compare the finger gallery (mate reaches full matching)."""
    engine = FingerprintEngine()
    d = load(engine, args)
    ids, pos, temps, packed = finger_gallery(d, args.fingers, 0.03,
                                             np.random.default_rng(args.seed), args.positions)
    out: dict = {"fingers": args.fingers, "codes": int(sum(len(c) for c in packed))}
    t = time.perf_counter()
    for lo in range(0, len(ids), BATCH // 4):
        hi = min(len(ids), lo + BATCH // 4)
        store.put_fingers(ids[lo:hi], ids[lo:hi], pos[lo:hi], packed[lo:hi])
    store.fingers.flush()
    out["milvus_ingest_fingers_per_s"] = round(len(ids) / (time.perf_counter() - t))
    by_id = dict(zip(ids, temps, strict=True))
    mg = MilvusFingerGallery(store, lambda want: {i: by_id[i] for i in want}, engine)
    mg.owner = {i: i for i in ids}
    embedded = FingerIndex(engine, mode="flat")
    embedded.add(ids, temps, positions=pos, packed=packed)
    probes = [dataclasses.replace(p, position=pos[k]) for k, p in enumerate(d["probes"])]
    hit_m, hit_e, tm, te = [], [], [], []
    for k, p in enumerate(probes[:args.queries]):
        q = codes(engine, p, 0, cache=True)
        t = time.perf_counter()
        hits = mg._milvus(p, q)  # noqa: SLF001 (the candidate path, before the threshold)
        tm.append((time.perf_counter() - t) * 1000)
        hit_m.append(k in {h.id for h in hits})
        t = time.perf_counter()
        short = embedded.shortlist(p, FULL_RERANK, position=p.position)
        embedded.search(p, position=p.position)
        te.append((time.perf_counter() - t) * 1000)
        hit_e.append(k in {i for i, _ in short})
    gated = np.array(d["gated"][:len(hit_m)], bool)
    out["milvus_search"], out["embedded_search"] = pct(tm), pct(te)
    out["mate_full_matching"] = {
        "milvus": round(float(np.mean(hit_m)), 4), "embedded": round(float(np.mean(hit_e)), 4),
        "milvus_gated": round(float(np.mean(np.array(hit_m)[gated])), 4),
        "embedded_gated": round(float(np.mean(np.array(hit_e)[gated])), 4),
        "probes": len(hit_m)}
    return out, mg, embedded, probes


def dedup(store: MilvusStore, face_probes: np.ndarray, mg: MilvusFingerGallery,
          probes: list, n: int) -> dict:
    """One enrolment's searches: a face and two fingers (position known), p95."""
    ms = []
    for j in range(min(n, len(probes) // 2)):
        t = time.perf_counter()
        store.search_faces(face_probes[j], 20)
        for p in probes[2 * j:2 * j + 2]:
            mg._milvus(p, codes(mg.index.engine, p, 0, cache=True))  # noqa: SLF001
        ms.append((time.perf_counter() - t) * 1000)
    return pct(ms)


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=1_000_000)
    ap.add_argument("--fingers", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--positions", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--uri", default=None, help="an existing Milvus (default: start one)")
    ap.add_argument("--set", type=int, default=80000)
    ap.add_argument("--mates", type=int, default=120)
    ap.add_argument("--sources", type=int, default=120)
    ap.add_argument("--sources-from", type=int, default=None)
    ap.add_argument("--real", type=int, default=2000)
    args = ap.parse_args()
    server = None
    if args.uri is None:
        from milvus import MilvusServer

        server = MilvusServer()
        server.set_base_dir(tempfile.mkdtemp(prefix="guardid-bench-milvus-"))
        server.listen_port = 19541
        server.start()
        args.uri = f"http://127.0.0.1:{server.listen_port}"
    store = MilvusStore(args.uri, f"bench_{int(time.time())}")
    try:
        out = {"uri_local": server is not None}
        out["face"], face_probes, _ = faces(store, args)
        out["finger"], mg, _, probes = fingers(store, args)
        out["dedup_milvus"] = dedup(store, face_probes, mg, probes, args.queries)
        out["milvus_server_rss_mb"] = server_rss_mb()
        print(json.dumps(out, indent=1))
    finally:
        store.drop()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
