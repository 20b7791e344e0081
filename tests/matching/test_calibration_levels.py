"""Calibration refuses the FMR levels its compared pairs cannot support."""

import numpy as np

from matching.evaluation import MIN_SCORED_GENUINE, calibrate


def _scores(genuine: int, impostor: int, failed: int = 0):
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0.95, 0.02, genuine), rng.normal(0.83, 0.03, impostor),
                             np.full(failed, -1.0)])
    same = np.concatenate([np.ones(genuine, bool), np.zeros(impostor, bool),
                           np.zeros(failed, bool)])
    scored = np.concatenate([np.ones(genuine + impostor, bool), np.zeros(failed, bool)])
    return scores, same, scored


def test_each_level_needs_three_over_fmr_compared_impostors():
    cal = calibrate(*_scores(MIN_SCORED_GENUINE, 3000), prefix="face_")
    assert cal.thresholds["face_fmr_1e-2"] is not None
    assert cal.thresholds["face_fmr_1e-3"] is not None
    assert cal.thresholds["face_fmr_1e-4"] is None
    assert cal.refused["face_fmr_1e-4"] == "3000 compared impostor pairs, 30000 needed"
    assert cal.fnmr_at_fmr["0.01"] is not None and cal.fnmr_at_fmr["0.0001"] is None


def test_failed_pairs_do_not_count_as_compared():
    """1,000 impostor pairs touched by a failure to enrol do not calibrate FMR 1e-2."""
    cal = calibrate(*_scores(MIN_SCORED_GENUINE, 200, failed=1000), prefix="face_")
    assert not cal.any_calibrated and cal.scored_impostor == 200


def test_too_few_genuine_pairs_calibrate_nothing():
    cal = calibrate(*_scores(MIN_SCORED_GENUINE - 1, 50_000), prefix="face_")
    assert not cal.any_calibrated
    assert all("compared genuine pairs" in why for why in cal.refused.values())
