"""Does the fingerprint quality score predict matching failure? Under controlled capture.

    OPENBLAS_NUM_THREADS=1 python bench/finger_quality.py --fingers 200

On FVC2004 DB1 B (bench/finger_accuracy.py) the failures left are pairs of good impressions
that show different parts of a finger, which no per-impression score can see. This bench
asks the question the score was built for: when the capture itself is poor (sensor noise,
small contact area, dry or wet skin, distortion), does a low score flag the probes that then
fail? Synthetic fingers (seeds 300,000+, apart from the calibration seeds 100,000+ of
fixtures/synthetic_finger_thresholds.json) are enrolled from a clean first impression; each
probe is a second impression whose capture conditions are drawn per finger from wide ranges.
A probe fails when its score against its own enrolment is below the synthetic FMR 1e-2 /
1e-3 threshold, or when no print is found in it (counted apart). Reported: FNMR of the
lowest-quality fifth of probes against the rest, and FNMR per quality quintile. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.synthetic_fingers import impression, master_print  # noqa: E402
from matching.exceptions import ImageError  # noqa: E402
from matching.finger import FingerprintEngine, Matcher  # noqa: E402
from matching.finger.params import load_thresholds  # noqa: E402
from matching.metrics import fnmr_at_threshold as fnmr  # noqa: E402

FIRST_SEED = 300_000
THRESHOLDS = ROOT / "fixtures" / "synthetic_finger_thresholds.json"


def conditions(rng: np.random.Generator) -> dict:
    """Return one probe's capture conditions, from clean to poor."""
    return {"noise": float(rng.uniform(0.04, 0.30)), "contact": float(rng.uniform(0.25, 0.9)),
            "pressure": float(rng.uniform(-1, 1)), "distortion_px": float(rng.uniform(2, 8))}


def main() -> None:
    """Run and print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingers", type=int, default=200)
    args = ap.parse_args()
    engine = FingerprintEngine()
    cuts = {k: v for k, v in load_thresholds(str(THRESHOLDS)).items() if k != "finger_fmr_1e-4"}
    rng = np.random.default_rng(FIRST_SEED)
    quality, scores, no_print = [], [], 0
    for f in range(args.fingers):
        master = master_print(FIRST_SEED + f)
        enrolled = engine.extract(impression(master, 1))
        try:
            probe = engine.extract(impression(master, 2, **conditions(rng)))
        except ImageError:
            no_print += 1
            continue
        quality.append(probe.quality)
        scores.append(Matcher(probe, engine).match(enrolled))
    q, s = np.array(quality), np.array(scores)
    cut = float(np.quantile(q, 0.2))
    low = q <= cut
    edges = np.quantile(q, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    band = np.clip(np.searchsorted(edges, q, side="right") - 1, 0, 4)
    out = {"fingers": args.fingers, "probes_without_a_print": no_print, "probes": len(q),
           "quality_cut_lowest_fifth": round(cut, 1),
           "spearman_quality_vs_score": float(spearmanr(q, s).statistic)}
    for name, t in cuts.items():
        out[name] = {"threshold": t, "fnmr_lowest_fifth": fnmr(s[low], t),
                     "fnmr_rest": fnmr(s[~low], t),
                     "fnmr_by_quintile": [fnmr(s[band == b], t) for b in range(5)]}
    out["quintile_quality_ranges"] = [[round(float(edges[b]), 1), round(float(edges[b + 1]), 1)]
                                      for b in range(5)]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
