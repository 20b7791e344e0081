"""Score-level fusion of face and fingerprint by the false-match rates their scores imply.

Each modality's thresholds are named by the false-match rate (FMR) they were calibrated to
give (``face_fmr_1e-3`` ...). A score therefore maps to an estimated FMR: log10(FMR) is
interpolated linearly between the calibrated points and extrapolated with the end slopes.
Face and finger errors are independent (different sensors, different traits), so the FMR of
requiring both is the product; fused evidence is the sum of -log10(FMR) over the modalities
given, and it is compared with -log10 of the target FMR. A strong finger can thus carry a
borderline face, while two borderline scores cannot pass a target neither reaches alone by
much.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Estimated FMRs are kept within these bounds: above 1 is meaningless, and below 1e-8 the
# calibration data (at most ~1e6 impostor pairs) says nothing.
MAX_EVIDENCE = 8.0
_FMR_NAME = re.compile(r"_fmr_1e-(\d+)$")


def fmr_of_name(name: str) -> float:
    """Return the FMR a threshold name targets (``face_fmr_1e-3`` -> 0.001)."""
    m = _FMR_NAME.search(name)
    if not m:
        raise ValueError(f"{name!r} is not a threshold named by its false-match rate")
    return 10.0 ** -int(m.group(1))


def evidence(score: float, thresholds: dict[str, float]) -> float:
    """Return -log10 of the FMR ``score`` implies, from a modality's calibrated thresholds."""
    points = sorted((t, -math.log10(fmr_of_name(n))) for n, t in thresholds.items()
                    if t is not None)
    if len(points) < 2:
        raise ValueError("fusion needs at least two calibrated thresholds per modality")
    if score <= points[0][0]:
        (x0, y0), (x1, y1) = points[0], points[1]
    elif score >= points[-1][0]:
        (x0, y0), (x1, y1) = points[-2], points[-1]
    else:
        i = next(i for i in range(1, len(points)) if score <= points[i][0])
        (x0, y0), (x1, y1) = points[i - 1], points[i]
    y = y0 + (score - x0) * (y1 - y0) / (x1 - x0) if x1 != x0 else y1
    return min(MAX_EVIDENCE, max(0.0, y))


@dataclass(frozen=True)
class Fused:
    """The fused decision: total evidence, the target it was held to, and the verdict."""

    evidence: float
    required: float
    match: bool
    per_modality: dict[str, float]


def fuse(scores: dict[str, float], thresholds: dict[str, dict[str, float]],
         target_fmr: float) -> Fused:
    """Fuse modality scores (e.g. {"face": .93, "finger": .41}) against a target FMR."""
    per = {m: evidence(s, thresholds[m]) for m, s in scores.items()}
    total = sum(per.values())
    required = -math.log10(target_fmr)
    return Fused(round(total, 3), required, total >= required, {k: round(v, 3)
                                                               for k, v in per.items()})
