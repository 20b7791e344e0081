"""The Milvus gallery backend beside the embedded galleries, in one run (issue 23).

    python bench/finger_scale_gen.py --first-seed 80000 --mates 1000 --sources 1000 \
        --sources-from 200000 --workers 2                                    # cached in /tmp
    python bench/milvus_gallery.py --faces 1000000 --fingers 100000 --mates 1000 \
        --sources 1000 --sources-from 200000

Starts a Milvus standalone server (the ``milvus`` package) in a temporary folder unless
``--uri`` names one. Every Milvus index plan runs in its own collections of the same server.
Faces: ``--faces`` synthetic dlib-like vectors (fixtures/synthetic_embeddings.py) written to
Milvus in bulk (ingest rate) under each ``--face-indexes`` plan (FLAT exact, HNSW), then
``--queries`` probes searched by each and by the embedded exact index: p50/p95 and recall@1
against the embedded exact search. Fingers: the gallery of bench/finger_scale.py
(image-generated mates, spliced and code-level fillers, ``--positions`` ISO positions) under
BIN_FLAT (exact) and BIN_IVF_FLAT (``--nlist``); each mate's probe is searched through the
Milvus finger gallery (nearest codes from Milvus, guardid's votes, code scores and full MCC)
and the embedded flat index: p50/p95 and the share of probes whose mate reaches full matching.
BIN_IVF_FLAT's ``nprobe`` is chosen on the first half of the probes (the smallest of
``--nprobes`` whose gated hit rate is within TUNE_SLACK of the embedded index's on that half)
and reported on the second half, and on all. De-duplication (one face search plus two finger
searches, position known): p50/p95 per plan and embedded, ``--dedup`` rounds. Milvus reads are
as of the store's newest write timestamp, as a gallery's are (the indexer's cursor carries it);
``--strong`` reads Strong instead (each read then waits for Milvus's next time tick).
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

from bench.finger_scale import add_set_args, load  # noqa: E402
from bench.finger_scale import gallery as finger_gallery  # noqa: E402
from biometrics.milvus.gallery import MilvusFingerGallery  # noqa: E402
from biometrics.milvus.store import IndexPlan, MilvusStore  # noqa: E402
from fixtures.synthetic_embeddings import gallery as face_gallery  # noqa: E402
from matching.finger import FingerprintEngine  # noqa: E402
from matching.finger.index import FULL_RERANK, FingerIndex, codes  # noqa: E402
from matching.index import FaceIndex  # noqa: E402

BATCH = 20_000
# How far below the embedded index's gated hit rate (tuning half) the chosen nprobe may be.
TUNE_SLACK = 0.0025


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


def faces(stores: dict[str, MilvusStore], args: argparse.Namespace
          ) -> tuple[dict, np.ndarray, FaceIndex]:
    """Ingest, search and compare the face gallery under each plan; return results, probes
    and the embedded index."""
    g = face_gallery(args.faces, probes=args.queries, seed=args.seed)
    out: dict = {"faces": args.faces}
    t = time.perf_counter()
    embedded = FaceIndex(mode="exact")
    embedded.add(list(range(args.faces)), g.vectors)
    out["embedded_build_s"] = round(time.perf_counter() - t, 1)
    want, te = [], []
    for p in g.probes:
        t = time.perf_counter()
        want.append(embedded.search(p, k=20)[0][0].id)
        te.append((time.perf_counter() - t) * 1000)
    out["embedded_identify"] = pct(te)
    for name, store in stores.items():
        r: dict = {}
        t = time.perf_counter()
        for lo in range(0, args.faces, BATCH):
            hi = min(args.faces, lo + BATCH)
            store.put_faces(list(range(lo, hi)), g.identity[lo:hi].tolist(), g.vectors[lo:hi])
        store.faces.flush()
        r["ingest_per_s"] = round(args.faces / (time.perf_counter() - t))
        t = time.perf_counter()
        store.wait_indexed()
        r["index_s"] = round(time.perf_counter() - t, 1)
        got, tm = [], []
        for p in g.probes:
            t = time.perf_counter()
            got.append(store.search_faces(p, 20, ts=as_of(store, args.strong))[0][0])
            tm.append((time.perf_counter() - t) * 1000)
        r["identify"] = pct(tm)
        r["recall_at_1_vs_embedded"] = round(float(np.mean(np.array(got) == np.array(want))), 4)
        out[name] = r
    return out, g.probes, embedded


def as_of(store: MilvusStore, strong: bool) -> int:
    """Return the timestamp Milvus reads wait for: the store's newest write (0: Strong)."""
    return 0 if strong else store.written_ts


def hit_rates(hits: list[bool], gated: np.ndarray) -> dict:
    """Return the share of probes whose mate reached full matching, all and gated."""
    h = np.array(hits, bool)
    return {"all": round(float(h.mean()), 4), "gated": round(float(h[gated].mean()), 4),
            "probes": len(h), "gated_probes": int(gated.sum())}


def milvus_probes(mg: MilvusFingerGallery, probes: list, which: range) -> tuple[list, list]:
    """Search ``which`` probes through ``mg``; return (mate reached full matching, ms)."""
    hits, ms = [], []
    for k in which:
        q = codes(mg.index.engine, probes[k], 0, cache=True)
        t = time.perf_counter()
        got = mg._milvus(probes[k], q)  # noqa: SLF001 (the candidate path, before a threshold)
        ms.append((time.perf_counter() - t) * 1000)
        hits.append(k in {h.id for h in got})
    return hits, ms


def code_share(pos: list[int], packed: list[np.ndarray], nprobe: int, nlist: int) -> float:
    """Return the mean share of all stored codes a position-known search touches: its
    partition's codes, times nprobe/nlist for BIN_IVF_FLAT (every segment here is indexed)."""
    per = np.zeros(max(pos) + 1)
    for p, c in zip(pos, packed, strict=True):
        per[p] += len(c)
    share = per[np.array(pos)] / per.sum()
    return round(float(share.mean()) * min(1.0, nprobe / nlist), 5)


def fingers(stores: dict[str, MilvusStore], args: argparse.Namespace
            ) -> tuple[dict, dict[str, MilvusFingerGallery], FingerIndex, list]:
    """Ingest, search and compare the finger gallery under each plan (mate reaches full
    matching); BIN_IVF_FLAT's nprobe chosen on the first half of the probes."""
    engine = FingerprintEngine()
    d = load(engine, args)
    ids, pos, temps, packed = finger_gallery(d, args.fingers, args.flip,
                                             np.random.default_rng(args.seed), args.positions)
    n_probes = min(args.queries, len(d["probes"]))
    out: dict = {"fingers": args.fingers, "codes": int(sum(len(c) for c in packed)),
                 "probes": n_probes}
    by_id = dict(zip(ids, temps, strict=True))
    probes = [dataclasses.replace(p, position=pos[k]) for k, p in enumerate(d["probes"])]
    gated = np.array(d["gated"][:n_probes], bool)
    embedded = FingerIndex(engine, mode="flat")
    embedded.add(ids, temps, positions=pos, packed=packed)
    hit_e, te = [], []
    for k in range(n_probes):  # timed: one whole search (candidates, votes, full MCC)
        t = time.perf_counter()
        embedded.search(probes[k], position=probes[k].position)
        te.append((time.perf_counter() - t) * 1000)
        short = embedded.shortlist(probes[k], FULL_RERANK, position=probes[k].position)
        hit_e.append(k in {i for i, _ in short})
    out["embedded"] = {"search": pct(te), "mate_full_matching": hit_rates(hit_e, gated)}
    half = n_probes // 2
    tune, report = range(half), range(half, n_probes)
    galleries = {}
    for name, store in stores.items():
        r: dict = {}
        t = time.perf_counter()
        for lo in range(0, len(ids), BATCH // 4):
            hi = min(len(ids), lo + BATCH // 4)
            store.put_fingers(ids[lo:hi], ids[lo:hi], pos[lo:hi], packed[lo:hi])
        store.fingers.flush()
        r["ingest_fingers_per_s"] = round(len(ids) / (time.perf_counter() - t))
        t = time.perf_counter()
        store.wait_indexed()
        r["index_s"] = round(time.perf_counter() - t, 1)
        mg = MilvusFingerGallery(store, lambda want: {i: by_id[i] for i in want}, engine)
        mg.owner = {i: i for i in ids}
        mg.indexed_ts = as_of(store, args.strong)  # what a gallery reads with the cursor
        galleries[name] = mg
        if store.plan.finger == "BIN_IVF_FLAT":
            floor = float(np.mean(np.array(hit_e)[:half][gated[:half]])) - TUNE_SLACK
            r["tuning"] = []
            for nprobe in args.nprobes:  # the loop's last nprobe is the chosen one
                store.plan = dataclasses.replace(store.plan, finger_nprobe=nprobe)
                tune_hits, ms = milvus_probes(mg, probes, tune)
                rate = hit_rates(tune_hits, gated[:half])
                r["tuning"].append({"nprobe": nprobe, **rate, **pct(ms)})
                if rate["gated"] >= floor:
                    break
            chosen = store.plan.finger_nprobe
            r["nprobe"], r["nlist"] = chosen, store.plan.finger_nlist
            hits, ms = milvus_probes(mg, probes, report)
            r["held_out"] = {"search": pct(ms),
                             "mate_full_matching": hit_rates(hits, gated[half:]),
                             "embedded": hit_rates(hit_e[half:], gated[half:])}
            r["all_probes"] = hit_rates(tune_hits + hits, gated)
            r["code_share"] = code_share(pos, packed, chosen, store.plan.finger_nlist)
        else:
            hits, ms = milvus_probes(mg, probes, range(n_probes))
            r["search"], r["mate_full_matching"] = pct(ms), hit_rates(hits, gated)
            r["code_share"] = code_share(pos, packed, 1, 1)
        out[name] = r
    return out, galleries, embedded, probes


def dedup(face_stores: dict[str, MilvusStore], embedded_face: FaceIndex, face_probes: np.ndarray,
          galleries: dict[str, MilvusFingerGallery], embedded: FingerIndex, probes: list,
          n: int, strong: bool) -> dict:
    """One enrolment's searches, a face and two fingers (position known): p50/p95 for each
    plan pairing (exact with exact, sub-linear with sub-linear) and for the embedded index."""
    rounds = min(n, len(probes) // 2)
    out: dict = {"rounds": rounds}
    pairs = list(zip(face_stores.items(), galleries.items(), strict=False))
    for (fname, fstore), (gname, mg) in pairs:
        ms = []
        for j in range(rounds):
            t = time.perf_counter()
            fstore.search_faces(face_probes[j], 20, ts=as_of(fstore, strong))
            for p in probes[2 * j:2 * j + 2]:
                mg._milvus(p, codes(mg.index.engine, p, 0, cache=True))  # noqa: SLF001
            ms.append((time.perf_counter() - t) * 1000)
        out[f"{fname}+{gname}"] = pct(ms)
    ms = []
    for j in range(rounds):
        t = time.perf_counter()
        embedded_face.search(face_probes[j], k=20)
        for p in probes[2 * j:2 * j + 2]:
            embedded.search(p, position=p.position)
        ms.append((time.perf_counter() - t) * 1000)
    out["embedded"] = pct(ms)
    return out


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--faces", type=int, default=1_000_000)
    ap.add_argument("--fingers", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dedup", type=int, default=200, help="de-duplication rounds")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--uri", default=None, help="an existing Milvus (default: start one)")
    ap.add_argument("--face-indexes", default="FLAT,HNSW")
    ap.add_argument("--face-ef", type=int, default=128)
    ap.add_argument("--finger-indexes", default="BIN_FLAT,BIN_IVF_FLAT")
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--nprobes", type=lambda v: [int(x) for x in v.split(",")],
                    default=[8, 16, 32, 64, 128])
    add_set_args(ap, set_=80_000, mates=1000, sources=1000, sources_from=200_000, real=2000)
    ap.add_argument("--strong", action="store_true", help="Strong reads (no timestamp)")
    args = ap.parse_args()
    server = None
    if args.uri is None:
        from milvus import MilvusServer

        server = MilvusServer()
        server.set_base_dir(tempfile.mkdtemp(prefix="guardid-bench-milvus-"))
        server.listen_port = 19541
        server.start()
        args.uri = f"http://127.0.0.1:{server.listen_port}"
    tag = int(time.time())
    face_stores = {f: MilvusStore(args.uri, f"bench_{tag}_{f.lower()}",
                                  IndexPlan(face=f, face_ef=args.face_ef))
                   for f in args.face_indexes.split(",")}
    finger_stores = {f: MilvusStore(args.uri, f"bench_{tag}_{f.lower()}",
                                    IndexPlan(finger=f, finger_nlist=args.nlist))
                     for f in args.finger_indexes.split(",")}
    try:
        out: dict = {"uri_local": server is not None}
        out["face"], face_probes, embedded_face = faces(face_stores, args)
        out["finger"], galleries, embedded, probes = fingers(finger_stores, args)
        out["dedup"] = dedup(face_stores, embedded_face, face_probes, galleries, embedded,
                             probes, args.dedup, args.strong)
        out["milvus_server_rss_mb"] = server_rss_mb()
        print(json.dumps(out, indent=1))
    finally:
        for st in {**face_stores, **finger_stores}.values():
            st.drop()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
