"""LSS-R consolidation: few cylinders cannot score high from chance pairs, and elastic
distortion of a few percent costs little (params.lss_min_np, relax_mu1; mcc.lss_r)."""

from __future__ import annotations

import numpy as np
import pytest

from matching.finger import FingerprintTemplate, Matcher

FINGERS, IMPRESSIONS = 6, 3


@pytest.fixture(scope="module")
def templates(synthetic, finger_engine) -> dict[tuple[int, int], FingerprintTemplate]:
    return {k: finger_engine.extract(img) for k, img in synthetic.items()}


def core(t: FingerprintTemplate, n: int) -> FingerprintTemplate:
    """The ``n`` minutiae nearest the centre of the print: a tiny partial template."""
    m = t.minutiae
    keep = np.argsort(np.hypot(*(m[:, :2] - m[:, :2].mean(0)).T))[:n]
    return FingerprintTemplate(m[keep], t.width, t.height, t.quality)


def stretched(t: FingerprintTemplate, k: float) -> FingerprintTemplate:
    """The template pulled ``k`` (a share) wider along x about its centre: elastic skin."""
    m = t.minutiae.copy()
    cx = m[:, 0].mean()
    m[:, 0] = cx + (m[:, 0] - cx) * (1 + k)
    return FingerprintTemplate(m, t.width, t.height, t.quality)


def test_a_four_minutiae_template_does_not_score_high_against_other_fingers(templates,
                                                                             finger_engine):
    # Averaging the best pairs over what exists let 4 cylinders reach 0.52 (genuine pairs of
    # whole prints score ~0.3-0.5); counted over n_P pairs, the missing ones as 0, they stay
    # below 0.1 (the synthetic FMR 1e-3 threshold is ~0.05).
    worst = 0.0
    for f in range(FINGERS):
        matcher = Matcher(core(templates[(f, 0)], 4), finger_engine)
        others = [templates[(g, i)] for g in range(FINGERS) if g != f for i in range(IMPRESSIONS)]
        scores = matcher.match_many(others)
        np.testing.assert_allclose(scores, [matcher.match(o) for o in others], atol=1e-6)
        worst = max(worst, float(scores.max()))
    assert worst < 0.15


def test_a_print_stretched_by_four_percent_keeps_most_of_its_score(templates, finger_engine):
    # 4% over a 70 px cylinder radius moves neighbours by up to ~6 px: with the paper's 5 px
    # tolerance the score fell to 0.67-0.87 of the undistorted one; 8 px keeps 0.87-0.93.
    kept = []
    for f in range(FINGERS):
        t = templates[(f, 0)]
        matcher = Matcher(t, finger_engine)
        pulled = stretched(t, 0.04)
        assert matcher.match_many([pulled])[0] == pytest.approx(matcher.match(pulled), abs=1e-6)
        kept.append(matcher.match(pulled) / matcher.match(t))
    assert min(kept) >= 0.8 and np.mean(kept) >= 0.85


def test_a_distance_relative_relaxation_tolerance_keeps_more_of_a_stretched_print(
        templates, finger_engine):
    # relax_rel (measured for issue 21, off by default): the distance tolerance grows with
    # the pair's distance, so an 8% stretch (up to ~11 px over a cylinder) costs less.
    from matching.finger import FingerprintEngine
    from matching.finger.params import FingerParams

    tolerant = FingerprintEngine(FingerParams(relax_rel=0.05))
    plain, relative = [], []
    for f in range(FINGERS):
        t = templates[(f, 0)]
        pulled = stretched(t, 0.08)
        base, wide = Matcher(t, finger_engine), Matcher(t, tolerant)
        assert wide.match_many([pulled])[0] == pytest.approx(wide.match(pulled), abs=1e-6)
        plain.append(base.match(pulled) / base.match(t))
        relative.append(wide.match(pulled) / wide.match(t))
    assert np.mean(relative) > np.mean(plain) + 0.03
