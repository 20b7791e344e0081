"""The orientation-agreement stage measured for issue 21's third pass (off the engine's path,
BENCHMARKS.md): grids of ridge directions, transforms from minutiae pairs, agreement under a
transform, and the pairs LSS-R exposes for them (matching.finger.orientation, mcc.lss_r_pairs)."""

from __future__ import annotations

import cv2
import numpy as np

from matching.finger import mcc
from matching.finger.extract import extract
from matching.finger.orientation import (
    BACKGROUND,
    BLOCK,
    agreement,
    descriptor_similarities,
    fitted_transform,
    minutia_descriptors,
    orientation_grid,
    orientation_scores,
    pair_transform,
)
from matching.finger.params import FingerParams

P = FingerParams()


def rotated(img: np.ndarray, deg: float) -> tuple[np.ndarray, float, np.ndarray]:
    """The image turned by ``deg`` about its centre (image axes), with the (phi, t) that
    maps its pixels onto the turned image's."""
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -deg, 1.0)  # OpenCV turns counter-clockwise
    out = cv2.warpAffine(img, m, (w, h), borderValue=255)
    return out, float(np.radians(deg)), m[:, 2].copy()


def test_the_grid_holds_each_cell_direction_and_marks_the_background():
    theta = np.full((64, 96), np.radians(30), np.float32)
    mask = np.zeros((64, 96), bool)
    mask[:, :48] = True
    g = orientation_grid(theta, mask)
    assert g.shape == (64 // BLOCK, 96 // BLOCK) and g.dtype == np.uint8
    assert (g[:, :3] == 30).all() and (g[:, 3:] == BACKGROUND).all()
    # 179 and 1 degrees average to 0 (doubled angles), not to 90
    theta[:, :24], theta[:, 24:48] = np.radians(179), np.radians(1)
    mixed = orientation_grid(theta, np.ones_like(mask))[:, :3]
    assert set(np.unique(mixed).tolist()) <= {0, 1, 179}


def test_a_turned_impression_agrees_under_the_true_transform_only(synthetic):
    img = synthetic[(0, 0)]
    turned, phi, t = rotated(img, 20.0)
    fa, fb = extract(img, P), extract(turned, P)
    ga, gb = orientation_grid(fa.orientation, fa.mask), orientation_grid(fb.orientation, fb.mask)
    share, overlap = agreement(ga, gb, phi, t)
    assert share > 0.8 and overlap > 100
    wrong_turn, _ = agreement(ga, gb, phi + np.radians(30), t)
    assert wrong_turn < 0.5
    assert agreement(ga, gb, phi, t + 10_000) == (0.0, 0)  # no overlap


def test_transforms_from_one_pair_and_from_many_recover_a_known_motion():
    rng = np.random.default_rng(3)
    phi, t = np.radians(-25.0), np.array([12.0, -7.0])
    c, s = np.cos(phi), np.sin(phi)
    ma = np.c_[rng.uniform(0, 300, (8, 2)), rng.uniform(0, 2 * np.pi, 8)]
    mb = np.c_[ma[:, :2] @ np.array([[c, s], [-s, c]]) + t, (ma[:, 2] + phi) % (2 * np.pi)]
    one_phi, one_t = pair_transform(ma[0], mb[0])
    assert np.isclose(one_phi, phi) and np.allclose(one_t, t)
    fit_phi, fit_t = fitted_transform(ma, mb, np.ones(8))
    assert np.isclose(fit_phi, phi) and np.allclose(fit_t, t)


def test_lss_r_exposes_the_pairs_it_summed(synthetic, finger_engine):
    a, b = (finger_engine.extract(synthetic[(2, i)]) for i in (0, 1))
    ca, cb = finger_engine.cylinders(a), finger_engine.cylinders(b)
    lam = mcc.local_similarities(ca, cb, P)
    score, ii, jj, w = mcc.lss_r_pairs(lam, ca, cb, P)
    assert score == mcc.lss_r(lam, ca, cb, P)
    assert 0 < len(ii) <= mcc.pairs_to_use(len(ca), len(cb), P)
    assert np.isclose(w.sum() / mcc.pairs_to_use(len(ca), len(cb), P), score)
    # a genuine pair: the transform fitted to those pairs lines the two fields up
    fa, fb = extract(synthetic[(2, 0)], P), extract(synthetic[(2, 1)], P)
    out = orientation_scores(orientation_grid(fa.orientation, fa.mask),
                             orientation_grid(fb.orientation, fb.mask),
                             ca.minutiae[ii], cb.minutiae[jj], w)
    assert out["fitted"] > 0.7 and out["best"] >= 0.7


def test_a_minutia_descriptor_finds_its_counterpart_in_a_turned_impression(synthetic):
    img = synthetic[(1, 0)]
    turned, phi, t = rotated(img, 25.0)
    fa, fb = extract(img, P), extract(turned, P)
    c, s = np.cos(phi), np.sin(phi)
    ma = fa.minutiae[(fa.minutiae[:, 0] > 120) & (fa.minutiae[:, 0] < 220)
                     & (fa.minutiae[:, 1] > 140) & (fa.minutiae[:, 1] < 280)][:8]
    # the same minutiae carried exactly into the turned image (no extraction noise)
    mb = ma.copy()
    mb[:, 0] = c * ma[:, 0] - s * ma[:, 1] + t[0]
    mb[:, 1] = s * ma[:, 0] + c * ma[:, 1] + t[1]
    mb[:, 2] = ma[:, 2] + phi
    sim = descriptor_similarities(minutia_descriptors(ma, fa.orientation, fa.mask),
                                  minutia_descriptors(mb, fb.orientation, fb.mask))
    assert len(ma) >= 4
    assert np.diag(sim).min() > 0.8  # each with its counterpart
    off = sim[~np.eye(len(ma), dtype=bool)]
    assert np.median(off) < np.diag(sim).min()
