"""Candidate changes to the fingerprint chain, each measured against today's on the shared FVC
sets: development / held-out / whole-set error rates, FNMR at FMR 1e-3 pooled over the sets
with a Wilson interval, minutiae precision and recall against the hand labels, and the
batched comparison rate.

    OPENBLAS_NUM_THREADS=1 python bench/finger_variants.py --datasets ../shared/data

A variant is a set of ``FingerParams`` overrides (``--variants`` takes a JSON object of
name -> overrides; the default list is the one of issue 21). Development = fingers 101-105
of every set (where choices are made), held out = 106-110 (reported, never chosen on),
whole = all ten; all-impostor protocol as bench/finger_pooled.py. Templates are extracted
again only for variants that change extraction. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.finger_pooled import PARTS, wilson  # noqa: E402
from matching.finger import FingerprintEngine  # noqa: E402
from matching.finger.engine import Matcher  # noqa: E402
from matching.finger.evaluate import extract_all, fingers, fvc_pairs, score  # noqa: E402
from matching.finger.params import FingerParams  # noqa: E402
from matching.metrics import error_rates  # noqa: E402

LABEL_MATCH_PX = 12  # as bench/finger_accuracy.py
MATCHING_PREFIXES = ("mcc_", "lss_", "relax_", "consolidation")
SPEED_PROBES, SPEED_BATCH = 40, 30
SPEED_SET = "fvc2004-db1b"  # the set of the 5,000/s target (BENCHMARKS.md, Speed)
DEFAULT_VARIANTS = {
    "v3 (shipped)": {},
    "(a) ridge quality >= 0.2, 8 px": {"min_ridge_quality": 0.2},
    "(a) ridge quality >= 0.25, 8 px": {"min_ridge_quality": 0.25},
    "(a) ridge quality >= 0.3, 0 px": {"min_ridge_quality": 0.3, "quality_border_px": 0},
    "(a) ridge quality >= 0.3, 4 px": {"min_ridge_quality": 0.3, "quality_border_px": 4},
    "(a) ridge quality >= 0.3, 8 px (dev choice)": {"min_ridge_quality": 0.3},
    "(a) ridge quality >= 0.4, 8 px": {"min_ridge_quality": 0.4},
    "(b) relaxation tolerance 8 px + 5% of distance": {"relax_rel": 0.05},
    "(b) relaxation tolerance 8 px + 10% of distance": {"relax_rel": 0.10},
    "(b) relaxation tolerance 5 px + 5% of distance": {"relax_mu1": 5.0, "relax_rel": 0.05},
    "local ridge period for Gabor (Hong et al.)": {"local_period": True},
    "local contrast normalisation, sigma 24 px": {"local_norm_sigma": 24.0},
}


def extraction_key(overrides: dict) -> tuple:
    """Return the overrides that change extraction (the rest only change matching)."""
    return tuple(sorted((k, v) for k, v in overrides.items()
                        if not k.startswith(MATCHING_PREFIXES)))


def labels_pr(root: Path, templates: dict) -> dict:
    """Return precision / recall of the templates' minutiae against the hand-labelled boxes."""
    by_stem = {p.stem: t for p, t in templates.items()}
    tp = fn = tpp = fp = 0
    for xml in sorted((root / "minutiae-labels").glob("*.xml")):
        t = by_stem.get(xml.stem)
        if t is None:
            continue
        boxes = [[float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
                 for b in (o.find("bndbox") for o in ET.parse(xml).getroot().iter("object"))]
        truth = np.array([[(a + c) / 2, (b + d) / 2] for a, b, c, d in boxes]).reshape(-1, 2)
        pts = t.minutiae[:, :2]
        if not len(truth) or not len(pts):
            fn += len(truth)
            fp += len(pts)
            continue
        d = np.hypot(*(truth[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        hit_t, hit_p = d.min(1) <= LABEL_MATCH_PX, d.min(0) <= LABEL_MATCH_PX
        tp, fn = tp + int(hit_t.sum()), fn + int((~hit_t).sum())
        tpp, fp = tpp + int(hit_p.sum()), fp + int((~hit_p).sum())
    return {"precision": round(tpp / max(1, tpp + fp), 4), "recall": round(tp / max(1, tp + fn), 4),
            "extracted": tpp + fp, "labelled": tp + fn}


def batched_rate(engine: FingerprintEngine, templates: list) -> float:
    """Return comparisons per CPU-second of ``Matcher.match_many`` in batches of 30."""
    live = [t for t in templates if t is not None]
    probes = live[:SPEED_PROBES]
    for t in live:
        engine.cylinders(t)  # cached, as in 1:N re-ranking
    start, done = time.process_time(), 0
    for k, probe in enumerate(probes):
        cands = [live[(k + 1 + j) % len(live)] for j in range(SPEED_BATCH)]
        Matcher(probe, engine).match_many(cands)
        done += len(cands)
    return done / max(time.process_time() - start, 1e-9)


def measure(engine: FingerprintEngine, sets: dict) -> dict:
    """Return per-part, per-set and pooled error rates of one engine on extracted sets."""
    out = {}
    for part, keep in PARTS.items():
        gen, imp, per_set = [], [], {}
        for name, (ids, templates) in sets.items():
            genuine, impostor = fvc_pairs({k: v for k, v in ids.items() if k in keep},
                                          all_impostors=True)
            g, i = score(templates, genuine, engine), score(templates, impostor, engine)
            rates = error_rates(g, i)
            per_set[name] = {"eer": round(rates.eer, 4),
                             "fnmr_at_fmr_1e-3": rates.fnmr_at_fmr["0.001"]}
            gen.append(g)
            imp.append(i)
        g, i = np.concatenate(gen), np.concatenate(imp)
        rates = error_rates(g, i)
        fnmr = rates.fnmr_at_fmr["0.001"]
        out[part] = {"sets": per_set, "pooled": {
            "eer": round(rates.eer, 4), "fnmr_at_fmr_1e-3": round(fnmr, 4),
            "wilson_95": wilson(round(fnmr * len(g)), len(g)), "pairs": [len(g), len(i)]}}
    return out


def main() -> None:
    """Measure every variant and print the figures as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Path("../shared/data"))
    ap.add_argument("--variants", type=json.loads, default=DEFAULT_VARIANTS)
    args = ap.parse_args()
    roots = sorted((args.datasets / "fingerprints").glob("*/images"))
    extracted: dict[tuple, dict] = {}
    out = {}
    for name, overrides in args.variants.items():
        params = dataclasses.replace(FingerParams(), **overrides)
        key = extraction_key(overrides)
        started = time.process_time()
        if key not in extracted:
            engine = FingerprintEngine(params)
            sets = {}
            for root in roots:
                ids = fingers(root)
                templates, _ = extract_all(engine, sorted({p for ps in ids.values() for p in ps}))
                sets[root.parent.name] = (ids, templates)
            extracted[key] = sets
        sets = extracted[key]
        engine = FingerprintEngine(params)
        row = {"overrides": overrides, **measure(engine, sets)}
        labelled = [r for r in roots if (r.parent / "minutiae-labels").is_dir()]
        row["minutiae_vs_labels"] = {r.parent.name: labels_pr(r.parent, sets[r.parent.name][1])
                                     for r in labelled}
        speed_set = sets.get(SPEED_SET) or next(iter(sets.values()))
        row["comparisons_per_cpu_s_batched"] = round(batched_rate(
            engine, list(speed_set[1].values())))
        row["cpu_s"] = round(time.process_time() - started, 1)
        out[name] = row
        print(json.dumps({name: row}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
