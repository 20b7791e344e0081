"""Fingerprint error rates on the shared FVC sets: development / held-out / whole set, and
FNMR at FMR 1e-3 pooled over the sets with confidence intervals.

    OPENBLAS_NUM_THREADS=1 python bench/finger_pooled.py --datasets ../shared/data

All-impostor protocol on each set under fingerprints/ (every genuine pair; impostors between
every impression of different fingers). Development = fingers 101-105 of every set (where the
engine's choices were made), held out = 106-110, whole = all ten. Pooled: the scores of the
sets joined, one threshold. One set's 2,880 impostor pairs leave ~3 above an FMR 1e-3
threshold, so the per-set FNMR at 1e-3 is given for whole sets only. Intervals: Wilson 95%
over the genuine pairs at the measured threshold, and a 95% bootstrap (pairs of each set
resampled, threshold recomputed); pairs share fingers, so both are on the narrow side.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.finger import FingerprintEngine  # noqa: E402
from matching.finger.evaluate import extract_all, fingers, fvc_pairs, score  # noqa: E402
from matching.metrics import error_rates  # noqa: E402

PARTS = {"development": {str(f) for f in range(101, 106)},
         "held_out": {str(f) for f in range(106, 111)},
         "whole": {str(f) for f in range(101, 111)}}
BOOTSTRAP_ROUNDS = 500
Z95 = 1.96


def wilson(k: int, n: int) -> list[float]:
    """Return the Wilson 95% interval of k successes in n trials."""
    p, d = k / n, 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / d
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return [round(centre - half, 4), round(centre + half, 4)]


def pooled(gen: list[np.ndarray], imp: list[np.ndarray], rng: np.random.Generator) -> dict:
    """Return pooled EER and FNMR at FMR 1e-3 with their counts and intervals."""
    g, i = np.concatenate(gen), np.concatenate(imp)
    rates = error_rates(g, i)
    fnmr, cut = rates.fnmr_at_fmr["0.001"], rates.thresholds["fmr_1e-3"]
    boot = []
    for _ in range(BOOTSTRAP_ROUNDS):
        bg = np.concatenate([x[rng.integers(0, len(x), len(x))] for x in gen])
        bi = np.concatenate([x[rng.integers(0, len(x), len(x))] for x in imp])
        boot.append(error_rates(bg, bi).fnmr_at_fmr["0.001"])
    return {"genuine_pairs": len(g), "impostor_pairs": len(i), "eer": round(rates.eer, 4),
            "fnmr_at_fmr_1e-3": round(fnmr, 4), "impostors_above": int((i >= cut).sum()),
            "wilson_95": wilson(round(fnmr * len(g)), len(g)),
            "bootstrap_95": [round(float(q), 4) for q in np.quantile(boot, [0.025, 0.975])]}


def main() -> None:
    """Score every set once and print the table's figures as JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    engine = FingerprintEngine()
    sets = {}
    for root in sorted((args.datasets / "fingerprints").glob("*/images")):
        ids = fingers(root)
        templates, _ = extract_all(engine, sorted({p for ps in ids.values() for p in ps}))
        sets[root.parent.name] = (ids, templates)
    out: dict = {}
    rng = np.random.default_rng(0)
    for part, keep in PARTS.items():
        gen, imp, per_set = [], [], {}
        for name, (ids, templates) in sets.items():
            genuine, impostor = fvc_pairs({k: v for k, v in ids.items() if k in keep},
                                          all_impostors=True)
            g, i = score(templates, genuine, engine), score(templates, impostor, engine)
            rates = error_rates(g, i)
            per_set[name] = {"eer": round(rates.eer, 4), "fnmr_at_fmr_1e-3":
                             rates.fnmr_at_fmr["0.001"], "pairs": [len(g), len(i)]}
            gen.append(g)
            imp.append(i)
        out[part] = {"sets": per_set, "pooled": pooled(gen, imp, rng)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
