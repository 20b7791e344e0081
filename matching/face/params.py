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
    # When HOG finds no face, dlib's CNN (MMOD) detector looks again, on a copy at most
    # cnn_detect_side pixels wide (upsampled once when smaller than upsample_below_side), which
    # bounds its cost to that of a 300x300 LFW photo upsampled (~1-2 s of one core: it runs
    # only on photos that would otherwise be refused as "no face"). LFW folds 1-3: HOG finds
    # no face in 13 of 2,320 photos, the CNN finds all 13; pairs accuracy 97.89% -> 98.56%,
    # EER 2.11% -> 1.00% (BENCHMARKS.md).
    cnn_fallback: bool = True
    cnn_detect_side: int = 400
    # Templates are the normalised sum of the embeddings of the chip and of its mirror image
    # (enrolment, calibration): one more ResNet pass (~15 ms of one core). LFW folds 1-3, all
    # 2.69 M pairs of their photos: EER 1.28% -> 1.03%, FNMR at FMR 1e-3 8.8% -> 7.2%.
    mirror_embedding: bool = True
    # Probes (spot checks, exam doors) are embedded once: against mirrored enrolments FNMR at
    # FMR 1e-3 is 8.0% (7.2% mirrored too), and the pass would eat most of the load test's
    # margin to its 150 ms p50 target (9-24 ms).
    probe_mirror: bool = False
    # The probe gate (probe_gate): a probe is compared with a good enrolment, so it may be
    # smaller, more turned and more tilted than an enrolment photo. LFW folds 1-3, against
    # enrolments within the enrolment pose limits: probes within them FNMR 6.3% at FMR 1e-3,
    # probes these limits add (roll 8-20, yaw 15-35 degrees) 8.4%, probes beyond them 12.2%;
    # no impostor passed in any band. Size: LFW's faces (18-28 px between the eyes) are those
    # every figure above is measured on. Sharpness: LFW's chips score a median 43.
    probe_min_inter_eye_px: float = 20.0
    probe_min_sharpness: float = 40.0
    probe_max_roll_deg: float = 20.0
    probe_max_yaw_deg: float = 35.0

    def probe_gate(self) -> FaceParams:
        """Return the gate for probes (spot checks, exam doors): looser size, blur and pose."""
        return replace(self, min_inter_eye_px=min(self.min_inter_eye_px,
                                                  self.probe_min_inter_eye_px),
                       min_sharpness=min(self.min_sharpness, self.probe_min_sharpness),
                       max_roll_deg=max(self.max_roll_deg, self.probe_max_roll_deg),
                       max_yaw_deg=max(self.max_yaw_deg, self.probe_max_yaw_deg))

    def lenient(self) -> FaceParams:
        """Return the gate for evaluating archival photos (the LFW copy: ~24 px between eyes).

        It refuses only a face it cannot measure: every photo with a face is embedded. On LFW
        folds 1-3 the earlier lenient gate (sharpness >= 10, brightness >= 50) refused 13 of
        2,320 photos and cost 0.45 points of pairs accuracy (98.11% against 98.56%) and 0.67
        of EER (1.67% against 1.00%): the model matches those photos better than it refuses.
        """
        return replace(self, min_detection_score=0.0, min_inter_eye_px=12.0, min_sharpness=0.0,
                       min_brightness=0.0, max_brightness=255.0, min_contrast=0.0,
                       max_yaw_deg=90.0, max_roll_deg=90.0, min_eye_aspect_ratio=0.0)


# Cosine-similarity thresholds named by the false-match rate they were calibrated for, on
# every pair of photos of the identities in LFW folds 1-3 (2,891 genuine, 2.69 M impostor
# pairs; bench/face_accuracy.py) with the mirrored templates; on folds 4-6's identities they
# give FMR 0.87e-2, 0.83e-3, 0.72e-4 at FNMR 1.3%, 7.3%, 23% (BENCHMARKS.md). A probe (one chip)
# against a mirrored enrolment scores slightly lower at equal FMR (thresholds 0.0011-0.0015
# lower on folds 1-3), so these thresholds are on the safe side for spot checks.
# A site recalibrates with `guardid eval face --save-thresholds`.
DEFAULT_THRESHOLDS = {"face_fmr_1e-2": 0.9107, "face_fmr_1e-3": 0.9290, "face_fmr_1e-4": 0.9433}


def load_thresholds(path: str | None) -> dict[str, float]:
    """Return the face thresholds of a file written by ``guardid eval face`` (or defaults)."""
    from matching.calibration import load_thresholds as load

    return load(path, model_id=MODEL_ID, defaults=DEFAULT_THRESHOLDS)
