"""Fingerprint accuracy: thresholds calibrated on synthetic prints, reported on real ones.

    python bench/finger_accuracy.py --datasets ../shared/data --synthetic-fingers 160

1. Calibration: the synthetic generator's impressions (seeded; fingers x 2 impressions),
   every impostor pair between different fingers -> thresholds at FMR 1e-2/1e-3/1e-4.
2. Report on every real set under fingerprints/ (FVC2004 DB1 B today), FVC protocol and
   all-impostor protocol: EER, FNMR at FMR 1e-2/1e-3, and the FMR/FNMR the synthetic
   thresholds actually give there.
3. What each stage buys on the real set (EER, all impostors): the full chain; without
   Gabor enhancement (binarising the normalised image); LSS instead of LSS-R; MCC16.
   And the two halves of the fingers apart: the chain is chosen on the first half and
   reported on the second (held out); each half's FMR 1e-2 threshold applied to the other.
4. Quality: FNMR at the EER threshold for genuine pairs touching the lowest-quality fifth
   of impressions against the rest.
5. Minutiae extraction against the hand-labelled positions (a match within 12 px).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.synthetic_fingers import impression, master_print  # noqa: E402
from matching.finger import FingerParams, FingerprintEngine, Matcher  # noqa: E402
from matching.finger import extract as fx  # noqa: E402
from matching.finger.evaluate import extract_all, fingers, fvc_pairs, score  # noqa: E402
from matching.metrics import error_rates, fmr_at_threshold, fnmr_at_threshold  # noqa: E402

LABEL_MATCH_PX = 12


def synthetic_calibration(engine: FingerprintEngine, n: int, seed: int) -> dict:
    """Return thresholds at fixed FMRs from synthetic impostor pairs, with the counts."""
    t = [engine.extract(impression(master_print(seed * 100_000 + f), f * 7 + k))
         for f in range(n) for k in range(2)]
    gen = np.array([Matcher(t[2 * f]).match(t[2 * f + 1]) for f in range(n)])
    imp = np.array([Matcher(t[2 * f]).match(t[2 * g + k])
                    for f, g in itertools.combinations(range(n), 2) for k in range(2)])
    rates = error_rates(gen, imp)
    return {"fingers": n, "genuine_pairs": len(gen), "impostor_pairs": len(imp),
            "eer": rates.eer, "fnmr_at_fmr": rates.fnmr_at_fmr,
            "thresholds": {f"finger_{k}": v for k, v in rates.thresholds.items()}}


def real_set(engine: FingerprintEngine, root: Path, thresholds: dict) -> dict:
    """Return error rates on one real set, both protocols, and the synthetic thresholds."""
    ids = fingers(root)
    paths = sorted({p for ps in ids.values() for p in ps})
    t0 = time.perf_counter()
    templates, reasons = extract_all(engine, paths)
    extract_ms = (time.perf_counter() - t0) / len(paths) * 1000
    out = {"images": len(paths), "fingers": len(ids), "fte": dict(reasons),
           "extract_ms_mean": round(extract_ms, 1)}
    for name, every in (("fvc_protocol", False), ("all_impostors", True)):
        genuine, impostor = fvc_pairs(ids, all_impostors=every)
        g, i = score(templates, genuine, engine), score(templates, impostor, engine)
        rates = error_rates(g, i)
        out[name] = {"genuine_pairs": len(g), "impostor_pairs": len(i), "eer": rates.eer,
                     "fnmr_at_fmr": rates.fnmr_at_fmr,
                     "at_synthetic_thresholds": {
                         k: {"threshold": v, "fmr": fmr_at_threshold(i, v),
                             "fnmr": fnmr_at_threshold(g, v)}
                         for k, v in thresholds.items() if v is not None}}
        if every:
            out["quality"] = quality_split(templates, genuine, g, rates.eer_threshold)
    out["halves"] = halves(templates, ids, engine)
    return out


def halves(templates: dict, ids: dict, engine: FingerprintEngine) -> dict:
    """Return the all-impostor EER on each half of the fingers (sorted by name) and the FMR
    1e-2 threshold of each half applied to the other.

    The extraction chain is chosen on the first half (development) and reported on the
    second (held out); the full-set EER mixes both, so it is not a held-out figure.
    """
    keys = sorted(ids)
    parts = {"development": keys[: len(keys) // 2], "held_out": keys[len(keys) // 2:]}
    scores = {}
    for name, part in parts.items():
        genuine, impostor = fvc_pairs({k: ids[k] for k in part}, all_impostors=True)
        scores[name] = (score(templates, genuine, engine), score(templates, impostor, engine))
    out = {}
    for name, other in (("development", "held_out"), ("held_out", "development")):
        g, i = scores[name]
        rates = error_rates(g, i)
        cut = rates.thresholds.get("fmr_1e-2")
        og, oi = scores[other]
        out[name] = {"fingers": parts[name], "genuine_pairs": len(g), "impostor_pairs": len(i),
                     "eer": rates.eer, "fmr_1e-2_threshold": cut,
                     "applied_to_the_other_half": None if cut is None else {
                         "fmr": fmr_at_threshold(oi, cut), "fnmr": fnmr_at_threshold(og, cut)}}
    return out


def quality_split(templates: dict, genuine: list, g: np.ndarray, threshold: float) -> dict:
    """Return FNMR for genuine pairs touching the lowest-quality fifth vs the others."""
    q = {p: t.quality for p, t in templates.items() if t is not None}
    cut = np.quantile(list(q.values()), 0.2)
    low = np.array([min(q.get(a, 0), q.get(b, 0)) <= cut for a, b in genuine])
    return {"quality_cut": round(float(cut), 1), "pairs_low": int(low.sum()),
            "pairs_rest": int((~low).sum()),
            "fnmr_low_fifth": float((g[low] < threshold).mean()) if low.any() else None,
            "fnmr_rest": float((g[~low] < threshold).mean()) if (~low).any() else None}


def ablation(root: Path) -> dict:
    """Return the all-impostor EER of the full chain and of variants missing one stage."""
    base = FingerParams()
    variants = {"full chain (MCC8, LSS-R)": (base, True),
                "no Gabor enhancement": (base, False),
                "LSS instead of LSS-R": (replace(base, consolidation="lss"), True),
                "MCC16 (16x16x6 cells)": (replace(base, mcc_ns=16), True)}
    ids = fingers(root)
    genuine, impostor = fvc_pairs(ids, all_impostors=True)
    out = {}
    for name, (params, enhanced) in variants.items():
        engine = FingerprintEngine(params)
        original = fx.enhance
        if not enhanced:
            fx.enhance = lambda norm, *a, **k: np.where(a[2], norm, 0)  # noqa: E731
        try:
            tm, _ = extract_all(engine, sorted({p for ps in ids.values() for p in ps}))
        finally:
            fx.enhance = original
        t0 = time.perf_counter()
        g, i = score(tm, genuine, engine), score(tm, impostor, engine)
        rate = (len(g) + len(i)) / (time.perf_counter() - t0)
        out[name] = {"eer": error_rates(g, i).eer, "comparisons_per_s": round(rate)}
    return out


def minutiae_vs_labels(engine: FingerprintEngine, root: Path, labels: Path) -> dict:
    """Return recall and precision of extracted minutiae positions against the labels."""
    tp = fn = fp = tpp = 0
    for xml in sorted(labels.glob("*.xml")):
        img = root / f"{xml.stem}.tif"
        if not img.exists():
            continue
        boxes = [[float(b.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
                 for b in (o.find("bndbox") for o in ET.parse(xml).getroot().iter("object"))]
        truth = np.array([[(a + c) / 2, (b + d) / 2] for a, b, c, d in boxes]).reshape(-1, 2)
        found = extract_all(engine, [img])[0][img]
        pts = found.minutiae[:, :2] if found is not None else np.zeros((0, 2))
        if len(truth) and len(pts):
            d = np.hypot(*(truth[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
            hit_t = d.min(1) <= LABEL_MATCH_PX
            hit_p = d.min(0) <= LABEL_MATCH_PX
        else:
            hit_t, hit_p = np.zeros(len(truth), bool), np.zeros(len(pts), bool)
        tp += int(hit_t.sum())
        fn += int((~hit_t).sum())
        tpp += int(hit_p.sum())
        fp += int((~hit_p).sum())
    return {"labelled": tp + fn, "extracted": tpp + fp, "recall": tp / max(1, tp + fn),
            "precision": tpp / max(1, tpp + fp), "match_px": LABEL_MATCH_PX}


def main() -> None:
    """Run everything and print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Path("../shared/data"))
    ap.add_argument("--synthetic-fingers", type=int, default=160)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    engine = FingerprintEngine()
    cal = synthetic_calibration(engine, args.synthetic_fingers, args.seed)
    out: dict = {"synthetic_calibration": cal, "real": {}}
    for root in sorted((args.datasets / "fingerprints").glob("*/images")):
        out["real"][root.parent.name] = real_set(engine, root, cal["thresholds"])
        out["real"][root.parent.name]["stages"] = ablation(root)
        labels = root.parent / "minutiae-labels"
        if labels.is_dir():
            out["real"][root.parent.name]["minutiae_vs_labels"] = minutiae_vs_labels(
                engine, root, labels)
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
