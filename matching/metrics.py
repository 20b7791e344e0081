"""Biometric error rates from genuine and impostor scores (higher score = more similar).

FMR(t) is the share of impostor scores >= t; FNMR(t) the share of genuine scores < t.
Everything is exact and vectorised over the sorted scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# The operating points every evaluation reports (FMR targets).
DEFAULT_FMRS = (1e-2, 1e-3, 1e-4)


def fmr_name(fmr: float) -> str:
    """Return the threshold name for a false-match-rate target, e.g. ``fmr_1e-3``."""
    return f"fmr_{fmr:.0e}".replace("e-0", "e-")


def fmr_at_threshold(impostor: np.ndarray, threshold: float) -> float:
    """Return the share of impostor scores at or above ``threshold``."""
    imp = np.asarray(impostor, dtype=np.float64)
    return float(np.count_nonzero(imp >= threshold) / imp.size) if imp.size else 0.0


def fnmr_at_threshold(genuine: np.ndarray, threshold: float) -> float:
    """Return the share of genuine scores below ``threshold``."""
    gen = np.asarray(genuine, dtype=np.float64)
    return float(np.count_nonzero(gen < threshold) / gen.size) if gen.size else 0.0


def threshold_for_fmr(impostor: np.ndarray, fmr: float) -> float | None:
    """Return the lowest threshold whose FMR on ``impostor`` is <= ``fmr``.

    None when there are too few impostor scores to resolve the target (fewer than 1/fmr):
    a threshold claimed for FMR 1e-4 from 300 impostor pairs would be a guess.
    """
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    if imp.size == 0 or imp.size * fmr < 1.0:
        return None
    allowed = int(np.floor(fmr * imp.size))  # impostors that may still pass
    # Scores strictly above the (n - allowed)-th smallest pass at threshold = next value up.
    cut = imp[imp.size - allowed - 1]
    return float(np.nextafter(cut, np.inf))


def _eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Return (EER, threshold) where FMR and FNMR cross, over every observed score."""
    gen = np.sort(genuine)
    imp = np.sort(impostor)
    candidates = np.unique(np.concatenate([gen, imp, [np.inf]]))
    fnmr = np.searchsorted(gen, candidates, side="left") / gen.size
    fmr = 1.0 - np.searchsorted(imp, candidates, side="left") / imp.size
    i = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[i] + fnmr[i]) / 2.0), float(candidates[i])


@dataclass(frozen=True)
class ErrorRates:
    """Counts, EER and FNMR at fixed FMRs, with the thresholds that achieve them."""

    genuine_pairs: int
    impostor_pairs: int
    eer: float
    eer_threshold: float
    fnmr_at_fmr: dict[str, float | None]
    thresholds: dict[str, float | None]

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


def error_rates(genuine: np.ndarray, impostor: np.ndarray,
                fmrs: tuple[float, ...] = DEFAULT_FMRS) -> ErrorRates:
    """Return EER and FNMR at each FMR target (None where impostors are too few)."""
    gen = np.asarray(genuine, dtype=np.float64).ravel()
    imp = np.asarray(impostor, dtype=np.float64).ravel()
    if gen.size == 0 or imp.size == 0:
        raise ValueError("error rates need at least one genuine and one impostor score")
    eer, eer_t = _eer(gen, imp)
    fnmr: dict[str, float | None] = {}
    thresholds: dict[str, float | None] = {}
    for fmr in fmrs:
        t = threshold_for_fmr(imp, fmr)
        thresholds[fmr_name(fmr)] = t
        fnmr[str(fmr)] = None if t is None else fnmr_at_threshold(gen, t)
    return ErrorRates(genuine_pairs=int(gen.size), impostor_pairs=int(imp.size), eer=eer,
                      eer_threshold=eer_t, fnmr_at_fmr=fnmr, thresholds=thresholds)


def best_accuracy_threshold(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Return the threshold that maximises (correct genuine + correct impostor) decisions."""
    gen = np.sort(np.asarray(genuine, dtype=np.float64))
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    candidates = np.unique(np.concatenate([gen, imp, [np.inf]]))
    correct = (gen.size - np.searchsorted(gen, candidates, side="left")) + np.searchsorted(
        imp, candidates, side="left")
    return float(candidates[int(np.argmax(correct))])
