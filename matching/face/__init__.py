"""Face engine: photo -> quality-checked, normalised 128-d dlib template; 1:1 similarity."""

from matching.face.engine import FaceAnalysis, FaceEngine
from matching.face.params import DEFAULT_THRESHOLDS, MODEL_ID, FaceParams
from matching.face.quality import QualityReason, QualityVerdict
from matching.face.template import FaceTemplate, best_similarity, face_similarity

__all__ = ["DEFAULT_THRESHOLDS", "MODEL_ID", "FaceAnalysis", "FaceEngine", "FaceParams",
           "FaceTemplate", "QualityReason", "QualityVerdict", "best_similarity",
           "face_similarity"]
