"""The face quality gate: measures from landmarks and the aligned chip, and what to fix."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

__all__ = ["QualityReason", "QualityVerdict", "asdict", "judge", "reason"]

import cv2
import numpy as np

from matching.face.params import FaceParams

# 68-point landmark indices (iBUG 300-W layout used by dlib's shape predictor).
RIGHT_EYE = slice(36, 42)  # the subject's right eye, on the image's left
LEFT_EYE = slice(42, 48)
# A generic 3-D face (mm-like units, y up) for head-pose estimation with solvePnP: nose tip,
# chin, outer eye corners, mouth corners (the landmark indices they correspond to).
POSE_LANDMARKS = [30, 8, 36, 45, 48, 54]
POSE_MODEL = np.array([(0.0, 0.0, 0.0), (0.0, -330.0, -65.0), (-225.0, 170.0, -135.0),
                       (225.0, 170.0, -135.0), (-150.0, -150.0, -125.0),
                       (150.0, -150.0, -125.0)], dtype=np.float64)

ADVICE = {
    "no_face": "no face found: face the camera, fully in the frame",
    "multiple_faces": "more than one face: only the guard may be in the photo",
    "face_too_small": "the face is too small: move closer to the camera",
    "too_blurry": "the photo is blurred: hold still and refocus",
    "too_dark": "the face is too dark: add light in front of the face",
    "too_bright": "the face is over-exposed: reduce light or move out of direct sun",
    "low_contrast": "the face is washed out: avoid back-light and haze",
    "pose_roll": "the head is tilted: hold the head upright",
    "pose_yaw": "the head is turned: face the camera directly",
    "eyes_not_visible": "the eyes are closed or covered: open the eyes, remove dark glasses",
}


@dataclass(frozen=True)
class QualityReason:
    """One failed check: stable code, measured value, the limit it broke, what to do."""

    code: str
    value: float
    limit: float
    advice: str


@dataclass(frozen=True)
class QualityVerdict:
    """Whether the capture passes, every failed check, and all measures taken."""

    passed: bool
    reasons: list[QualityReason] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return asdict(self)


def reason(code: str, value: float, limit: float) -> QualityReason:
    """Return the reason ``code`` with its advice."""
    return QualityReason(code=code, value=round(float(value), 3), limit=float(limit),
                         advice=ADVICE[code])


def _eye_aspect_ratio(eye: np.ndarray) -> float:
    """Return (|p2-p6| + |p3-p5|) / (2 |p1-p4|) for the six points of one eye."""
    v = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    h = np.linalg.norm(eye[0] - eye[3])
    return float(v / (2.0 * h)) if h > 0 else 0.0


def head_yaw(points: np.ndarray, image_size: tuple[int, int]) -> float:
    """Return the head's yaw in degrees (0 = facing the camera) from a PnP pose fit."""
    h, w = image_size
    # Principal point at the face, so the yaw is relative to the line of sight to the face
    # (a frontal face at the edge of a wide photo is not "turned").
    cx, cy = points[POSE_LANDMARKS].mean(axis=0)
    camera = np.array([[w, 0, cx], [0, w, cy], [0, 0, 1]], dtype=np.float64)
    ok, rvec, _ = cv2.solvePnP(POSE_MODEL, points[POSE_LANDMARKS].astype(np.float64), camera,
                               np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return 90.0
    rot, _ = cv2.Rodrigues(rvec)
    # Rotation about the vertical axis, taken from the rotated forward direction.
    return float(math.degrees(math.asin(max(-1.0, min(1.0, -rot[2, 0])))))


def _eye_line(points: np.ndarray) -> np.ndarray:
    """Return the vector from the right eye's centre to the left eye's."""
    return points[LEFT_EYE].mean(axis=0) - points[RIGHT_EYE].mean(axis=0)


def inter_eye_px(points: np.ndarray) -> float:
    """Return the distance between the eye centres, in the landmarks' pixels."""
    return float(math.hypot(*_eye_line(points)))


def geometry(points: np.ndarray, image_size: tuple[int, int]) -> dict[str, float]:
    """Return inter-eye distance (px), roll and yaw (degrees), and eye openness."""
    dx, dy = _eye_line(points)
    roll = math.degrees(math.atan2(dy, dx))
    yaw = head_yaw(points, image_size)
    ear = min(_eye_aspect_ratio(points[RIGHT_EYE]), _eye_aspect_ratio(points[LEFT_EYE]))
    return {"inter_eye_px": inter_eye_px(points), "roll_deg": roll, "yaw_deg": yaw,
            "eye_aspect_ratio": ear}


def photometry(chip_rgb: np.ndarray) -> dict[str, float]:
    """Return sharpness, brightness and contrast of the aligned face chip."""
    gray = cv2.cvtColor(chip_rgb, cv2.COLOR_RGB2GRAY)
    return {"sharpness": float(cv2.Laplacian(gray, cv2.CV_64F).var()),
            "brightness": float(gray.mean()), "contrast": float(gray.std())}


def judge(measures: dict[str, float], params: FaceParams) -> QualityVerdict:
    """Apply the gate's thresholds to ``measures`` and return the verdict."""
    m, p = measures, params
    checks = [
        ("face_too_small", m["inter_eye_px"] < p.min_inter_eye_px, m["inter_eye_px"],
         p.min_inter_eye_px),
        ("too_blurry", m["sharpness"] < p.min_sharpness, m["sharpness"], p.min_sharpness),
        ("too_dark", m["brightness"] < p.min_brightness, m["brightness"], p.min_brightness),
        ("too_bright", m["brightness"] > p.max_brightness, m["brightness"], p.max_brightness),
        ("low_contrast", m["contrast"] < p.min_contrast, m["contrast"], p.min_contrast),
        ("pose_roll", abs(m["roll_deg"]) > p.max_roll_deg, m["roll_deg"], p.max_roll_deg),
        ("pose_yaw", abs(m["yaw_deg"]) > p.max_yaw_deg, m["yaw_deg"], p.max_yaw_deg),
        ("eyes_not_visible", m["eye_aspect_ratio"] < p.min_eye_aspect_ratio,
         m["eye_aspect_ratio"], p.min_eye_aspect_ratio),
    ]
    reasons = [reason(code, value, limit) for code, failed, value, limit in checks if failed]
    return QualityVerdict(passed=not reasons, reasons=reasons,
                          measures={k: round(v, 3) for k, v in m.items()})


def quality_score(measures: dict[str, float], params: FaceParams) -> float:
    """Return a 0-100 summary: the weakest of size, sharpness and exposure margins."""
    # A gate without a size or sharpness limit (the lenient one) gives full marks for them.
    size = min(1.0, measures["inter_eye_px"] / max(1e-9, 1.5 * params.min_inter_eye_px))
    sharp = min(1.0, measures["sharpness"] / max(1e-9, 3.0 * params.min_sharpness))
    mid = (params.min_brightness + params.max_brightness) / 2
    expo = max(0.0, 1.0 - abs(measures["brightness"] - mid) / (mid - params.min_brightness + 1))
    return round(100.0 * min(size, sharp, max(expo, 0.0)), 1)
