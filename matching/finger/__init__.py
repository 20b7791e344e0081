"""The fingerprint half of the biometric core: images, minutiae, MCC matching, 1:N index."""

from matching.finger.engine import (
    FingerAnalysis,
    FingerprintEngine,
    Matcher,
    finger_similarity,
    quality_score,
)
from matching.finger.image import decode_fingerprint
from matching.finger.params import DEFAULT_THRESHOLDS, MODEL_ID, FingerParams
from matching.finger.template import FingerprintTemplate

__all__ = ["DEFAULT_THRESHOLDS", "MODEL_ID", "FingerAnalysis", "FingerParams", "FingerprintEngine",
           "FingerprintTemplate", "Matcher", "decode_fingerprint", "finger_similarity",
           "quality_score"]
