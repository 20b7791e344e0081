"""Error-rate metrics against hand-computed cases and brute force."""

import numpy as np
import pytest

from matching.metrics import (
    best_accuracy_threshold,
    error_rates,
    fmr_at_threshold,
    fmr_name,
    fnmr_at_threshold,
    threshold_for_fmr,
)


def test_names():
    assert fmr_name(1e-3) == "fmr_1e-3" and fmr_name(1e-2) == "fmr_1e-2"


def test_perfect_separation_has_zero_eer():
    r = error_rates(np.array([0.9, 0.95, 0.99]), np.array([0.1, 0.2, 0.3]))
    assert r.eer == 0.0 and 0.3 < r.eer_threshold <= 0.9


def test_threshold_for_fmr_is_exact_on_random_scores():
    rng = np.random.default_rng(1)
    imp = rng.normal(size=10_000)
    for fmr in (1e-2, 1e-3):
        t = threshold_for_fmr(imp, fmr)
        assert fmr_at_threshold(imp, t) <= fmr
        # The next lower observed score would exceed the target: the threshold is the lowest.
        below = np.max(imp[imp < t])
        assert fmr_at_threshold(imp, below) > fmr


def test_unresolvable_targets_are_none_not_guesses():
    r = error_rates(np.ones(10), np.zeros(300))
    assert r.thresholds["fmr_1e-2"] is not None
    assert r.thresholds["fmr_1e-3"] is None and r.fnmr_at_fmr["0.001"] is None


def test_eer_matches_brute_force():
    rng = np.random.default_rng(2)
    gen, imp = rng.normal(1.0, 1.0, 2000), rng.normal(-1.0, 1.0, 3000)
    r = error_rates(gen, imp)
    grid = np.linspace(-4, 4, 4001)
    gaps = [abs(fmr_at_threshold(imp, t) - fnmr_at_threshold(gen, t)) for t in grid]
    t = grid[int(np.argmin(gaps))]
    brute = (fmr_at_threshold(imp, t) + fnmr_at_threshold(gen, t)) / 2
    assert r.eer == pytest.approx(brute, abs=2e-3)
    assert 0.12 < r.eer < 0.20  # two unit Gaussians 2 apart cross at ~15.9%


def test_best_accuracy_threshold_separates():
    assert 0.3 < best_accuracy_threshold(np.array([0.8, 0.9]), np.array([0.1, 0.3])) <= 0.8
