"""Evaluate the face engine on a labelled folder (and optionally LFW's pairs protocol)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from matching import evaluation
from matching.exceptions import ImageError
from matching.face.engine import FaceEngine
from matching.face.params import MODEL_ID
from matching.imageio import decode
from matching.metrics import error_rates

# Generous limits for evaluation files (they are the operator's own data).
EVAL_MAX_BYTES = 50 * 1024 * 1024
EVAL_MAX_PIXELS = 60_000_000
# Score given to a pair whose image failed to enrol: below any cosine similarity, so the pair
# counts as a non-match (an error for a genuine pair, a correct rejection for an impostor).
FAILED_SCORE = -1.0


def embed_paths(engine: FaceEngine, paths: list[Path], *, workers: int = 2
                ) -> tuple[dict[Path, np.ndarray | None], Counter]:
    """Return {path: normalised embedding or None} and a count of failure reasons."""
    images, reasons = [], Counter()
    for path in paths:
        try:
            images.append(decode(path.read_bytes(), max_bytes=EVAL_MAX_BYTES,
                                 max_pixels=EVAL_MAX_PIXELS).pixels)
        except (ImageError, OSError):
            images.append(None)
    readable = [im for im in images if im is not None]
    analyses = iter(engine.analyze_batch(readable, dominant=True, workers=workers))
    out: dict[Path, np.ndarray | None] = {}
    for path, image in zip(paths, images, strict=True):
        if image is None:
            out[path] = None
            reasons["image_unreadable"] += 1
            continue
        result = next(analyses)
        out[path] = None if result.template is None else result.template.vector
        reasons.update(r.code for r in result.verdict.reasons)
    return out, reasons


def evaluate(engine: FaceEngine, dataset: Path, *, pairs_file: Path | None = None,
             impostors: int = 10_000, seed: int = 0, workers: int = 2) -> dict:
    """Run the protocol and return counts, FTE, EER, FNMR at fixed FMRs and thresholds.

    Rates are ISO/IEC 19795-1's generalised ones (a pair with an image that failed to enrol is
    a non-match); thresholds come from the compared pairs (evaluation.calibrate), None for a
    level the data cannot calibrate.
    """
    ids = evaluation.identities(dataset)
    folds = evaluation.read_lfw_pairs(pairs_file, dataset) if pairs_file else None
    pairs = ([p for fold in folds for p in fold] if folds else
             evaluation.genuine_pairs(ids) + evaluation.impostor_pairs(ids, impostors, seed))
    cache: dict[Path, np.ndarray | None] = {}
    reasons: Counter = Counter()

    def embed(paths: list[Path]) -> dict[Path, np.ndarray | None]:
        todo = [p for p in paths if p not in cache]
        got, why = embed_paths(engine, todo, workers=workers)
        cache.update(got)
        reasons.update(why)
        return cache

    scores, same, touched = evaluation.score_pairs(
        pairs, embed, lambda a, b: float(np.dot(a, b)), FAILED_SCORE)
    enrolled = [v for v in cache.values() if v is not None]
    rates = error_rates(scores[same], scores[~same])
    scored = np.array([cache[p.a] is not None and cache[p.b] is not None for p in pairs],
                      dtype=bool)
    calibration = evaluation.calibrate(scores, same, scored, prefix="face_")
    result = {
        "model_id": MODEL_ID, "dataset": str(dataset), "identities": len(ids),
        "images": len(cache), "fte_rate": 1.0 - len(enrolled) / max(1, len(cache)),
        "fte_reasons": dict(reasons), "pairs_with_fte": touched,
        "protocol": ("LFW pairs file, 10-fold style cross-validation over its folds"
                     if folds else f"all genuine pairs; {impostors} seeded impostor pairs "
                     f"(seed {seed})"),
        **rates.to_dict(),
        "fnmr_at_fmr": calibration.fnmr_at_fmr,
        "thresholds": calibration.thresholds,
        "calibration": {"scored_genuine_pairs": calibration.scored_genuine,
                        "scored_impostor_pairs": calibration.scored_impostor,
                        "refused": calibration.refused},
    }
    if folds:
        bounds = np.cumsum([0] + [len(f) for f in folds])
        fold_scores = [(scores[a:b], same[a:b]) for a, b in zip(bounds[:-1], bounds[1:],
                                                                  strict=True)]
        result["lfw_accuracy"] = evaluation.cross_validated_accuracy(fold_scores)
    return result
