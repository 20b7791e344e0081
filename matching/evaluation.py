"""Evaluation protocols on a labelled folder: identities, genuine/impostor pairs, LFW folds."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matching.metrics import (
    DEFAULT_FMRS,
    best_accuracy_threshold,
    fmr_name,
    fnmr_at_threshold,
    threshold_for_fmr,
)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".wsq"})
# A threshold for FMR f is calibrated only on at least this many / f impostor pairs that were
# actually compared (both images enrolled): then ~3 impostors lie above it, the "rule of three"
# count below which the 95% bound on the FMR reached is several times the target.
MIN_IMPOSTORS_TIMES_FMR = 3.0
# ... and on at least this many compared genuine pairs: fewer say nothing about its FNMR.
MIN_SCORED_GENUINE = 100


@dataclass(frozen=True)
class Pair:
    """Two image paths and whether they show the same identity."""

    a: Path
    b: Path
    same: bool


def identities(root: Path) -> dict[str, list[Path]]:
    """Return {identity: sorted image paths} for a folder with one sub-folder per identity."""
    out: dict[str, list[Path]] = {}
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            out[folder.name] = images
    return out


def genuine_pairs(ids: dict[str, list[Path]]) -> list[Pair]:
    """Return every pair of images of the same identity."""
    return [Pair(a, b, True) for images in ids.values()
            for a, b in itertools.combinations(images, 2)]


def impostor_pairs(ids: dict[str, list[Path]], count: int, seed: int) -> list[Pair]:
    """Return ``count`` distinct seeded pairs of images of different identities."""
    rng = random.Random(seed)
    names = list(ids)
    if len(names) < 2:
        return []
    seen: set[tuple[Path, Path]] = set()
    out: list[Pair] = []
    budget = count * 20
    while len(out) < count and budget > 0:
        budget -= 1
        n1, n2 = rng.sample(names, 2)
        a, b = rng.choice(ids[n1]), rng.choice(ids[n2])
        key = (min(a, b), max(a, b))
        if key not in seen:
            seen.add(key)
            out.append(Pair(a, b, False))
    return out


def read_lfw_pairs(pairs_file: Path, images_root: Path) -> list[list[Pair]]:
    """Parse LFW's pairs.txt (folds of matched then mismatched pairs) into folds of Pairs."""
    lines = [ln.split("\t") for ln in Path(pairs_file).read_text().splitlines() if ln.strip()]
    folds_n, per = int(lines[0][0]), int(lines[0][1])

    def path(name: str, number: str) -> Path:
        return Path(images_root) / name / f"{name}_{int(number):04d}.jpg"

    body, folds = lines[1:], []
    if len(body) != folds_n * 2 * per:
        raise ValueError(f"{pairs_file}: expected {folds_n * 2 * per} pairs, found {len(body)}")
    for f in range(folds_n):
        chunk = body[f * 2 * per:(f + 1) * 2 * per]
        fold = [Pair(path(r[0], r[1]), path(r[0], r[2]), True) if len(r) == 3
                else Pair(path(r[0], r[1]), path(r[2], r[3]), False) for r in chunk]
        folds.append(fold)
    return folds


def cross_validated_accuracy(fold_scores: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """LFW protocol: per fold, pick the threshold on the other folds; return mean and std.

    ``fold_scores`` holds (scores, same-labels) per fold.
    """
    accs, thresholds = [], []
    for i, (scores, same) in enumerate(fold_scores):
        train = [fs for j, fs in enumerate(fold_scores) if j != i]
        tr_s = np.concatenate([s for s, _ in train])
        tr_y = np.concatenate([y for _, y in train])
        t = best_accuracy_threshold(tr_s[tr_y], tr_s[~tr_y])
        accs.append(float(np.mean((scores >= t) == same)))
        thresholds.append(t)
    return {"mean": float(np.mean(accs)), "std": float(np.std(accs)), "folds": accs,
            "thresholds": thresholds}


def score_pairs(pairs: list[Pair], embed: Callable[[list[Path]], dict[Path, np.ndarray | None]],
                compare: Callable[[np.ndarray, np.ndarray], float],
                failed_score: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Score pairs; a pair with an image that failed to enrol gets ``failed_score``.

    Returns (scores, same-labels, number of pairs touched by a failure to enrol).
    """
    needed = sorted({p.a for p in pairs} | {p.b for p in pairs})
    templates = embed(needed)
    scores, same, touched = [], [], 0
    for p in pairs:
        ta, tb = templates.get(p.a), templates.get(p.b)
        if ta is None or tb is None:
            touched += 1
            scores.append(failed_score)
        else:
            scores.append(compare(ta, tb))
        same.append(p.same)
    return np.array(scores, dtype=np.float64), np.array(same, dtype=bool), touched


@dataclass(frozen=True)
class Calibration:
    """Thresholds per FMR level (None: not calibrated), and why levels were refused."""

    thresholds: dict[str, float | None]
    fnmr_at_fmr: dict[str, float | None]
    scored_genuine: int
    scored_impostor: int
    refused: dict[str, str]

    @property
    def any_calibrated(self) -> bool:
        """True when at least one level has a threshold."""
        return any(t is not None for t in self.thresholds.values())


def calibrate(scores: np.ndarray, same: np.ndarray, scored: np.ndarray, *, prefix: str,
              fmrs: tuple[float, ...] = DEFAULT_FMRS) -> Calibration:
    """Return thresholds per FMR level from the compared pairs (``scored``), refusing thin data.

    A threshold is set on the impostor pairs that were compared (a pair with an image that
    failed to enrol is never compared at a door); its FNMR is the generalised one, over every
    genuine pair (a failure to enrol is a non-match). A level with fewer than
    MIN_IMPOSTORS_TIMES_FMR / fmr compared impostor pairs, or fewer than MIN_SCORED_GENUINE
    compared genuine pairs, gets no threshold.
    """
    scored = np.asarray(scored, dtype=bool)
    gen, imp = scores[same & scored], scores[~same & scored]
    thresholds: dict[str, float | None] = {}
    fnmr: dict[str, float | None] = {}
    refused: dict[str, str] = {}
    for fmr in fmrs:
        name = f"{prefix}{fmr_name(fmr)}"
        need = int(np.ceil(MIN_IMPOSTORS_TIMES_FMR / fmr))
        if gen.size < MIN_SCORED_GENUINE:
            refused[name] = (f"{gen.size} compared genuine pairs, {MIN_SCORED_GENUINE} needed")
        elif imp.size < need:
            refused[name] = f"{imp.size} compared impostor pairs, {need} needed"
        t = None if name in refused else threshold_for_fmr(imp, fmr)
        thresholds[name] = t
        fnmr[str(fmr)] = None if t is None else fnmr_at_threshold(scores[same], t)
    return Calibration(thresholds, fnmr, int(gen.size), int(imp.size), refused)
