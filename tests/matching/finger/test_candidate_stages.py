"""Stages measured for issue 21 and kept off by default (BENCHMARKS.md): the ridge-quality
rule, the local ridge-period map and local contrast normalisation, each doing what it says."""

from __future__ import annotations

import cv2
import numpy as np

from matching.finger.extract import (
    _block_periods,
    extract,
    local_normalise,
    normalise,
    orientation,
    period_map,
    ridge_quality,
    segment,
)
from matching.finger.params import FingerParams

P = FingerParams()


def stripes(h: int, w: int, period_left: float, period_right: float) -> np.ndarray:
    """Vertical ridges, one period on the left half and another on the right."""
    x = np.arange(w, dtype=np.float32)
    period = np.where(x < w / 2, period_left, period_right)
    phase = np.cumsum(2 * np.pi / period)
    row = 128 + 90 * np.cos(phase)
    return np.tile(row, (h, 1)).astype(np.uint8)


def blotted(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The impression with a flat dark disc (a wet blob) painted on it, and the disc's mask."""
    out = img.copy()
    h, w = img.shape
    disc = np.zeros_like(img)
    cv2.circle(disc, (w // 2, h // 2), 40, 1, -1)
    out[disc > 0] = 20
    return out, disc.astype(bool)


def test_ridge_quality_is_low_on_a_blob_and_high_on_clean_ridges(synthetic):
    img, blob = blotted(synthetic[(0, 0)])
    norm = normalise(img)
    mask = segment(norm, P)
    theta, _ = orientation(norm, P)
    quality = ridge_quality(img.shape, _block_periods(norm, theta, mask, P)[2], P)
    clean = mask & ~cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8),
                               iterations=40).astype(bool)
    # the blob's inner half (a 48 px signature window straddles the rim further out)
    core = cv2.erode(blob.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=20) > 0
    assert np.median(quality[core]) < 0.3 < 0.6 < np.median(quality[clean])


def test_the_ridge_quality_rule_drops_the_minutiae_a_blob_makes(synthetic):
    img, blob = blotted(synthetic[(1, 0)])
    near = cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=8) > 0

    def inside(m: np.ndarray) -> int:
        return int(near[m[:, 1].astype(int), m[:, 0].astype(int)].sum())

    plain = extract(img, P).minutiae
    ruled = extract(img, FingerParams(min_ridge_quality=0.3)).minutiae
    assert inside(plain) >= 3  # the blob's rim ends ridges: spurious endings
    assert inside(ruled) <= inside(plain) // 3
    # ...and the rule leaves the print away from the blob almost alone
    assert len(ruled) - inside(ruled) >= 0.8 * (len(plain) - inside(plain))


def test_the_period_map_follows_a_change_of_ridge_period():
    img = stripes(256, 320, 7.0, 11.0)
    norm = normalise(img)
    mask = np.ones(img.shape, bool)
    theta, _ = orientation(norm, P)
    period, _, blocks = _block_periods(norm, theta, mask, P)
    local = period_map(img.shape, period, blocks, P)
    assert abs(np.median(local[:, 40:120]) - 7.0) < 1.0
    assert abs(np.median(local[:, 200:280]) - 11.0) < 1.0


def test_local_normalisation_evens_out_contrast():
    img = stripes(200, 400, 9.0, 9.0).astype(np.float32)
    img[:, :200] = 128 + 0.15 * (img[:, :200] - 128)  # a faint half
    norm = normalise(img.astype(np.uint8))
    mask = np.ones(img.shape, bool)
    even = local_normalise(norm, mask, 24.0)
    faint, strong = even[:, 40:120].std(), even[:, 280:360].std()
    assert norm[:, 40:120].std() < 0.3 * norm[:, 280:360].std()
    assert 0.8 < faint / strong < 1.25
