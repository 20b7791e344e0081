"""Face accuracy on LFW: calibrate thresholds on half the identities, report on the other half;
plus LFW's own pairs protocol (cross-validated over its folds).

    python bench/face_accuracy.py [--datasets ../shared/data] [--seed 7]

Embeddings are cached in var/bench/ so a rerun only recomputes the statistics.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching import evaluation  # noqa: E402
from matching.face import FaceEngine  # noqa: E402
from matching.face.evaluate import FAILED_SCORE, embed_paths  # noqa: E402
from matching.metrics import (  # noqa: E402
    error_rates,
    fmr_at_threshold,
    fnmr_at_threshold,
    threshold_for_fmr,
)
from registry.settings import Settings  # noqa: E402

FMRS = (1e-2, 1e-3, 1e-4)


def embeddings(root: Path, cache: Path) -> dict[Path, np.ndarray | None]:
    """Embed every image under root once (lenient gate, dominant face), cached on disk."""
    if cache.exists():
        data = json.loads(cache.read_text())
        return {Path(k): None if v is None else np.array(v, dtype=np.float32)
                for k, v in data.items()}
    paths = sorted(p for imgs in evaluation.identities(root).values() for p in imgs)
    t = time.perf_counter()
    got, reasons = embed_paths(FaceEngine(FaceEngine().params.lenient()), paths, workers=2)
    print(f"embedded {len(paths)} images in {time.perf_counter() - t:.0f} s; failures {reasons}",
          file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({str(k): None if v is None else v.tolist()
                                 for k, v in got.items()}))
    return got


def scores(pairs, emb) -> tuple[np.ndarray, np.ndarray]:
    """Return (scores, same) for pairs; failures to enrol score as non-matches."""
    s = [FAILED_SCORE if emb[p.a] is None or emb[p.b] is None else float(np.dot(emb[p.a],
                                                                                emb[p.b]))
         for p in pairs]
    return np.array(s), np.array([p.same for p in pairs])


def main() -> None:
    """Run the split-half evaluation and the pairs protocol; print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Settings().datasets)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--impostors", type=int, default=200_000)
    args = ap.parse_args()
    root = args.datasets / "faces" / "lfw-dev" / "images"
    emb = embeddings(root, Path("var/bench/lfw_embeddings.json"))
    ids = evaluation.identities(root)
    names = sorted(n for n, imgs in ids.items())
    random.Random(args.seed).shuffle(names)
    halves = {"A": {n: ids[n] for n in names[::2]}, "B": {n: ids[n] for n in names[1::2]}}
    split = {}
    for half, sub in halves.items():
        pairs = evaluation.genuine_pairs(sub) + evaluation.impostor_pairs(
            sub, args.impostors, args.seed)
        s, y = scores(pairs, emb)
        split[half] = (s[y], s[~y])
    gen_a, imp_a = split["A"]
    gen_b, imp_b = split["B"]
    calibrated = {f"face_fmr_{f:.0e}".replace("e-0", "e-"): threshold_for_fmr(imp_a, f)
                  for f in FMRS}
    report_b = {name: {"threshold": t, "fnmr_on_B": fnmr_at_threshold(gen_b, t),
                       "fmr_on_B": fmr_at_threshold(imp_b, t)}
                for name, t in calibrated.items()}
    rates_b = error_rates(gen_b, imp_b)
    folds = evaluation.read_lfw_pairs(args.datasets / "faces" / "lfw-dev" / "pairs.txt", root)
    fold_scores = [scores(f, emb) for f in folds]
    acc = evaluation.cross_validated_accuracy(fold_scores)
    failed = sum(v is None for v in emb.values())
    print(json.dumps({
        "images": len(emb), "fte_rate": failed / len(emb),
        "split": {"A_identities": len(halves["A"]), "B_identities": len(halves["B"]),
                  "A_genuine": len(gen_a), "A_impostor": len(imp_a),
                  "B_genuine": len(gen_b), "B_impostor": len(imp_b)},
        "calibrated_on_A_reported_on_B": report_b,
        "B_eer": rates_b.eer,
        "lfw_pairs": {"pairs": sum(len(f) for f in folds), "folds": len(folds),
                      "accuracy_mean": acc["mean"], "accuracy_std": acc["std"]},
    }, indent=2))


if __name__ == "__main__":
    main()
