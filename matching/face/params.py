"""Every constant of the face engine in one place, each with where it comes from."""

from __future__ import annotations

from dataclasses import dataclass, replace

MODEL_ID = "dlib_resnet_v1"  # dlib_face_recognition_resnet_model_v1 (face-recognition-models)
TEMPLATE_VERSION = 1
EMBEDDING_DIM = 128


@dataclass(frozen=True)
class FaceParams:
    """Detection and quality-gate settings; defaults follow ISO/IEC 19794-5 and ICAO 9303-3."""

    # Detection runs on a copy whose longer side is at most this many pixels; landmarks and
    # the embedding use the full-resolution face. HOG finds faces down to ~80 px, so 800 px
    # keeps a face that fills a fifth of a station photo well above that.
    detect_max_side: int = 800
    # When the caller wants the dominant face (spot checks: the subject is the largest face in
    # the photo), detection first runs on a copy this small, where HOG finds faces wider than
    # about a sixth of the photo, and falls back to the detect_max_side copy only when it finds
    # none. A face the coarse pass misses is smaller than any it finds, so the largest face is
    # the same one. Measured on station-size photos: 9-17 ms instead of 27-50 ms. The coarse
    # pass runs on a grey copy (HOG then computes one gradient channel, not three; converting
    # before resizing also shrinks a third of the data): on the sample photos it gives the
    # same boxes as colour at 0.1-0.3 lower detection scores (faces: 0.8-2.2), and costs
    # 6-14 ms instead of 9-17 (tests/matching/face/test_quality_gate.py holds the boxes).
    coarse_detect_side: int = 480
    # Probe photos (spot checks, exam doors) that are JPEGs larger than twice this are decoded
    # at 1/2, 1/4 or 1/8 scale keeping at least this long a side: detection never looks at
    # more than detect_max_side pixels; a face smaller than the chip is decoded again at a
    # finer scale (engine.CHIP_INTER_EYE_PX). Measured: a 12-megapixel photo costs 28 ms
    # instead of 79 (bench/probe_photo.py).
    probe_decode_side: int = 800
    # Images smaller than this are upsampled once for detection (LFW-size photos).
    upsample_below_side: int = 400
    # Minimum HOG detector margin for a face to count. Real faces in the sample photos score
    # 1.2-1.7; background texture produces false detections at 0.0-0.1 on large photos,
    # which would otherwise refuse a good photo as "multiple faces".
    min_detection_score: float = 0.3
    # ISO/IEC 19794-5 token face images need >= 60 px between the eye centres; full-frontal
    # images 90 px. Enrolment uses the token minimum so phone photos at a post still pass.
    min_inter_eye_px: float = 60.0
    # Variance of the Laplacian on the 150x150 aligned face chip; measured: sharp station
    # photos score 300-2000, a 4-px Gaussian blur ~40 (tests/matching/face keeps the band).
    min_sharpness: float = 80.0
    # Mean grey level of the face chip (ICAO: no over- or under-exposure of the face).
    min_brightness: float = 50.0
    max_brightness: float = 210.0
    # Standard deviation of the chip's grey levels (flat, washed-out faces fall below).
    min_contrast: float = 20.0
    # ICAO 9303-3 / ISO 19794-5 frontal pose: roll within +-8 degrees; yaw ideally +-5, but the
    # landmark estimate is good to a few degrees, so the gate allows 15.
    max_roll_deg: float = 8.0
    max_yaw_deg: float = 15.0
    # Eye aspect ratio (Soukupova & Cech 2016) below which an eye is taken as closed.
    min_eye_aspect_ratio: float = 0.15

    def lenient(self) -> FaceParams:
        """Return the gate for evaluating archival photos (the LFW copy: ~24 px between eyes)."""
        return replace(self, min_detection_score=0.0, min_inter_eye_px=12.0, min_sharpness=10.0,
                       max_yaw_deg=60.0, max_roll_deg=45.0, min_eye_aspect_ratio=0.0)


# Cosine-similarity thresholds named by the false-match rate they were calibrated for, on
# LFW identities of split A (bench/face_accuracy.py); reported on split B in BENCHMARKS.md.
# A site recalibrates with `guardid eval face --save-thresholds`.
DEFAULT_THRESHOLDS = {"face_fmr_1e-2": 0.9067, "face_fmr_1e-3": 0.9261, "face_fmr_1e-4": 0.9402}


def load_thresholds(path: str | None) -> dict[str, float]:
    """Return the face thresholds of a file written by ``guardid eval face`` (or defaults)."""
    from matching.calibration import load_thresholds as load

    return load(path, model_id=MODEL_ID, defaults=DEFAULT_THRESHOLDS)
