"""The fingerprint engine: impression in, quality-scored template out; matchers per probe."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matching.finger import mcc, mcc_batch
from matching.finger.extract import Features, extract
from matching.finger.params import FingerParams
from matching.finger.template import FingerprintTemplate

# Quality (0-100) is a weighted sum of four documented features, each scaled to [0, 1]:
# foreground area (a full 500 ppi print covers ~90k px), orientation certainty (mean
# coherence on the foreground), ridge clarity (share of foreground pixels whose enhanced
# response is clearly ridge or valley) and minutiae count (~40 is a good rolled-flat print).
QUALITY_WEIGHTS = {"area": 0.25, "certainty": 0.30, "clarity": 0.25, "minutiae": 0.20}
FULL_AREA_PX = 90_000
GOOD_MINUTIAE = 40
CLEAR_RESPONSE = 0.5
# Candidates scored per batched call (bounds the padded arrays). On the benchmark machine the
# batched path gave ~5,000 comparisons/s at 10 per call and ~6,000-6,700/s from 30 to 50.
MATCH_BATCH = 64


@dataclass(frozen=True)
class FingerAnalysis:
    """The template of one impression with its quality features."""

    template: FingerprintTemplate
    features: dict[str, float]


def quality_features(f: Features) -> dict[str, float]:
    """Return the quality features of an extraction.

    The four weighted ones, each in [0, 1], make the quality score; ``ridges`` (share) and
    ``ridge_blocks`` (count) of ridge blocks are the evidence that it is a fingerprint at all.
    """
    fg = f.mask
    area = min(1.0, float(fg.sum()) / FULL_AREA_PX)
    certainty = float(f.coherence[fg].mean()) if fg.any() else 0.0
    resp = np.abs(f.enhanced[fg])
    clarity = float((resp > CLEAR_RESPONSE * (resp.std() + 1e-6)).mean()) if fg.any() else 0.0
    count = min(1.0, len(f.minutiae) / GOOD_MINUTIAE)
    return {"area": area, "certainty": certainty, "clarity": clarity, "minutiae": count,
            "ridges": f.ridges.share, "ridge_blocks": float(f.ridges.blocks)}


def quality_score(features: dict[str, float]) -> float:
    """Return the 0-100 quality of an impression from its features."""
    return round(100 * sum(QUALITY_WEIGHTS[k] * features[k] for k in QUALITY_WEIGHTS), 1)


# Cylinders of this many templates stay cached (~60 KB each for ~40 minutiae): a gallery's
# re-ranked candidates repeat, but a 100k gallery's cylinders would not fit in memory.
CYLINDER_CACHE = 5000


class FingerprintEngine:
    """Extracts templates and builds cylinders; thread-safe, no models to load."""

    def __init__(self, params: FingerParams | None = None, *,
                 cache_size: int = CYLINDER_CACHE):
        self.params = params or FingerParams()
        self._cache: OrderedDict[bytes, mcc.Cylinders] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def analyze(self, gray: np.ndarray, *, position: int = 0) -> FingerAnalysis:
        """Extract minutiae and score quality; raise ImageError when no print is found."""
        f = extract(gray, self.params)
        features = quality_features(f)
        template = FingerprintTemplate(f.minutiae, gray.shape[1], gray.shape[0],
                                       quality_score(features), position=position)
        return FingerAnalysis(template, features)

    def extract(self, gray: np.ndarray, *, position: int = 0) -> FingerprintTemplate:
        """Return the template of a 500 ppi grey impression."""
        return self.analyze(gray, position=position).template

    def cylinders(self, template: FingerprintTemplate, *, cache: bool = True) -> mcc.Cylinders:
        """Return the template's MCC cylinders, from a bounded LRU cache when ``cache``."""
        if not cache:
            return mcc.cylinders(template.minutiae, self.params)
        key = template.digest
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        cyl = mcc.cylinders(template.minutiae, self.params)
        with self._lock:
            self._cache[key] = cyl
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return cyl


class Matcher:
    """Compares one probe with many candidates; the probe's cylinders are built once."""

    def __init__(self, probe: FingerprintTemplate, engine: FingerprintEngine | None = None):
        self.engine = engine or _DEFAULT
        self.params = self.engine.params
        self.probe = self.engine.cylinders(probe)

    def match(self, candidate: FingerprintTemplate) -> float:
        """Return the similarity in [0, 1] of the probe and ``candidate``."""
        return mcc.similarity(self.probe, self.engine.cylinders(candidate), self.params)

    def match_many(self, candidates: Sequence[FingerprintTemplate]) -> np.ndarray:
        """Return the similarities of the probe and each candidate, computed in batches."""
        out = np.zeros(len(candidates))
        for lo in range(0, len(candidates), MATCH_BATCH):
            chunk = [self.engine.cylinders(c) for c in candidates[lo:lo + MATCH_BATCH]]
            out[lo:lo + len(chunk)] = mcc_batch.similarities(self.probe, chunk, self.params)
        return out


_DEFAULT = FingerprintEngine()


def finger_similarity(a: FingerprintTemplate, b: FingerprintTemplate) -> float:
    """Return the similarity of two templates, symmetric in its arguments."""
    return 0.5 * (Matcher(a).match(b) + Matcher(b).match(a))
