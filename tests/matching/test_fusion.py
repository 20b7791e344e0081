"""Score fusion by implied false-match rates: monotone, bounded, and a strong modality carries
a weak one while two weak ones do not pass."""

import pytest

from matching.fusion import evidence, fmr_of_name, fuse

FACE = {"face_fmr_1e-2": 0.9067, "face_fmr_1e-3": 0.9261, "face_fmr_1e-4": 0.9402}
FINGER = {"finger_fmr_1e-2": 0.20, "finger_fmr_1e-3": 0.30, "finger_fmr_1e-4": 0.40}
BOTH = {"face": FACE, "finger": FINGER}


def test_threshold_names():
    assert fmr_of_name("face_fmr_1e-3") == pytest.approx(1e-3)
    with pytest.raises(ValueError):
        fmr_of_name("face_threshold")


def test_evidence_hits_the_calibrated_points_and_is_monotone():
    assert evidence(FACE["face_fmr_1e-3"], FACE) == pytest.approx(3.0)
    assert evidence(FINGER["finger_fmr_1e-4"], FINGER) == pytest.approx(4.0)
    grid = [0.5 + i * 0.005 for i in range(101)]
    values = [evidence(s, FACE) for s in grid]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == 8.0


def test_strong_finger_carries_a_borderline_face_but_two_weak_scores_fail():
    borderline_face = 0.915  # between the 1e-2 and 1e-3 face thresholds
    strong = fuse({"face": borderline_face, "finger": 0.45}, BOTH, 1e-3)
    assert strong.match and strong.per_modality["finger"] > 4
    weak = fuse({"face": 0.88, "finger": 0.12}, BOTH, 1e-3)
    assert not weak.match and weak.evidence < 3
    alone = fuse({"face": borderline_face}, BOTH, 1e-3)
    assert not alone.match


def test_fusion_is_symmetric_in_modalities():
    a = fuse({"face": 0.93, "finger": 0.25}, BOTH, 1e-3)
    b = fuse({"finger": 0.25, "face": 0.93}, BOTH, 1e-3)
    assert a == b
