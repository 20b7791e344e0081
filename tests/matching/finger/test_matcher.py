"""The MCC matcher: self-match, symmetry, genuine above impostor, and FVC error rates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matching.finger import Matcher, finger_similarity
from matching.finger.evaluate import extract_all, fingers, fvc_pairs, score
from matching.finger.params import load_thresholds
from matching.metrics import error_rates
from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS


@pytest.fixture(scope="module")
def templates(finger_engine, synthetic):
    return {k: finger_engine.extract(v) for k, v in synthetic.items()}


def test_self_match_and_symmetry(templates):
    t = templates[(0, 0)]
    assert Matcher(t).match(t) > 0.95
    a, b = templates[(1, 0)], templates[(1, 2)]
    assert finger_similarity(a, b) == pytest.approx(finger_similarity(b, a))


def test_genuine_scores_above_impostor_scores_on_synthetic(templates):
    gen = [Matcher(templates[(f, i)]).match(templates[(f, j)])
           for f in range(6) for i, j in itertools.combinations(range(3), 2)]
    imp = [Matcher(templates[(f, 0)]).match(templates[(g, 0)])
           for f, g in itertools.combinations(range(6), 2)]
    assert min(gen) > max(imp)
    cal = load_thresholds(str(SYNTHETIC_FINGER_THRESHOLDS))
    assert max(imp) < cal["finger_fmr_1e-3"] < np.median(gen)


def test_empty_template_scores_zero(templates):
    from matching.finger import FingerprintTemplate

    empty = FingerprintTemplate(np.zeros((0, 5), np.float32), 300, 400, 0.0)
    assert Matcher(empty).match(templates[(0, 0)]) == 0.0
    assert Matcher(templates[(0, 0)]).match(empty) == 0.0


def test_fvc_error_rates_on_five_fingers(fvc, finger_engine):
    ids = {k: v for k, v in fingers(fvc).items() if k in {"101", "102", "103", "104", "105"}}
    genuine, impostor = fvc_pairs(ids, all_impostors=True)
    tm, _ = extract_all(finger_engine, sorted({p for ps in ids.values() for p in ps}))
    rates = error_rates(score(tm, genuine, finger_engine), score(tm, impostor, finger_engine))
    assert rates.genuine_pairs == 140 and rates.impostor_pairs == 640
    assert rates.eer < 0.12  # the full set measures 5.8% (BENCHMARKS.md)


def test_isolated_minutiae_give_no_cylinders_and_score_zero(templates):
    from matching.finger import FingerprintTemplate

    far = np.array([[10, 10, 0, 1, 1], [300, 390, 1, 3, 1]], np.float32)  # no neighbours
    lonely = FingerprintTemplate(far, 320, 400, 10.0)
    assert Matcher(lonely).match(templates[(0, 0)]) == 0.0
    assert Matcher(templates[(0, 0)]).match(lonely) == 0.0


@pytest.mark.parametrize("consolidation", ["lss-r", "lss"])
def test_batched_scores_equal_one_at_a_time(templates, consolidation):
    """match_many (1:N re-ranking) gives each candidate the score match gives it.

    Exactly equal local similarities may pair in another order, and LSS-R's relaxation can
    leave near-equal efficiencies whose order float rounding decides; both move a score by
    well under the gap between genuine and impostor scores.
    """
    import dataclasses

    from matching.finger import FingerprintEngine, FingerprintTemplate

    engine = FingerprintEngine(dataclasses.replace(FingerprintEngine().params,
                                                   consolidation=consolidation))
    lonely = FingerprintTemplate(np.array([[10, 10, 0, 1, 1]], np.float32), 320, 400, 1.0)
    cands = [*templates.values(), lonely]
    for probe in list(templates.values())[:6]:
        m = Matcher(probe, engine)
        one = np.array([m.match(c) for c in cands])
        many = m.match_many(cands)
        assert many.shape == one.shape and many[-1] == 0.0
        assert np.abs(many - one).max() < 2e-3
        assert np.argmax(many) == np.argmax(one)
    assert Matcher(lonely, engine).match_many(cands).tolist() == [0.0] * len(cands)
