"""Feature extraction as a linear chain of named stages (each a small function):

    normalise -> segment -> orientation -> frequency -> enhance -> binarise -> skeleton
    -> minutiae

Every stage takes plain arrays and returns plain arrays, so a test or a benchmark can run,
skip or replace one stage and measure what it buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage.morphology import skeletonize

from matching.exceptions import ImageError
from matching.finger.params import FingerParams

ENDING, BIFURCATION = 1, 3  # minutia types, as their crossing numbers
# The 8 neighbours in circular order (dy, dx), for crossing numbers and tracing.
RING = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


@dataclass(frozen=True)
class Features:
    """What the chain yields: minutiae (x, y, angle, type, reliability) and the maps."""

    minutiae: np.ndarray  # (n, 5) float32
    mask: np.ndarray  # bool, foreground
    orientation: np.ndarray  # radians in [0, pi), ridge direction
    coherence: np.ndarray  # [0, 1]
    period: float  # ridge period in px
    enhanced: np.ndarray  # float32


def normalise(gray: np.ndarray) -> np.ndarray:
    """Return the image as float32 with zero mean and unit spread."""
    img = gray.astype(np.float32)
    return (img - img.mean()) / (img.std() + 1e-6)


def segment(norm: np.ndarray, p: FingerParams) -> np.ndarray:
    """Return the foreground mask: blocks with ridge contrast, smoothed, largest region."""
    b = p.block
    h, w = norm.shape
    local_std = np.sqrt(np.maximum(cv2.blur(norm * norm, (b, b)) - cv2.blur(norm, (b, b)) ** 2,
                                   0))
    mask = (local_std > p.min_block_std * norm.std() * 2).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (b * 2 + 1, b * 2 + 1))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return np.zeros((h, w), bool)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == biggest).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def orientation(norm: np.ndarray, p: FingerParams) -> tuple[np.ndarray, np.ndarray]:
    """Return the ridge orientation (radians in [0, pi)) and its coherence, per pixel."""
    smooth = cv2.GaussianBlur(norm, (0, 0), p.gradient_sigma)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), p.orientation_sigma)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), p.orientation_sigma)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), p.orientation_sigma)
    # The gradient is across the ridges; the ridge runs at right angles to it.
    theta = (0.5 * np.arctan2(2 * gxy, gxx - gyy) + np.pi / 2) % np.pi
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy ** 2) / (gxx + gyy + 1e-6)
    return theta.astype(np.float32), np.clip(coherence, 0, 1).astype(np.float32)


def frequency(norm: np.ndarray, mask: np.ndarray, p: FingerParams) -> float:
    """Return the ridge period (px): the peak of the foreground's radial power spectrum."""
    img = np.where(mask, norm, 0).astype(np.float32)
    window = np.outer(np.hanning(img.shape[0]), np.hanning(img.shape[1])).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(img * window))) ** 2
    h, w = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.hypot((yy - h / 2) / h, (xx - w / 2) / w)  # cycles per pixel
    band = (radius >= 1 / p.max_period) & (radius <= 1 / p.min_period)
    if not band.any():
        return (p.min_period + p.max_period) / 2
    bins = np.linspace(1 / p.max_period, 1 / p.min_period, 41)
    idx = np.digitize(radius[band], bins)
    sums = np.bincount(idx, weights=power[band], minlength=len(bins) + 1)[1:len(bins)]
    counts = np.maximum(np.bincount(idx, minlength=len(bins) + 1)[1:len(bins)], 1)
    peak = int(np.argmax(sums / counts))
    return float(1 / ((bins[peak] + bins[peak + 1]) / 2))


def enhance(norm: np.ndarray, theta: np.ndarray, period: float, mask: np.ndarray,
            p: FingerParams) -> np.ndarray:
    """Contextual Gabor filtering: each pixel takes the filter tuned to its orientation."""
    n = p.gabor_orientations
    index = np.round(theta / np.pi * n).astype(np.int32) % n
    out = np.zeros_like(norm)
    for k in range(n):
        sel = index == k
        if not (sel & mask).any():
            continue
        # cv2's theta is the direction across the stripes: the ridge direction + 90 degrees.
        kern = cv2.getGaborKernel((p.gabor_kernel, p.gabor_kernel), p.gabor_sigma,
                                  k * np.pi / n + np.pi / 2, period, 1.0, 0, ktype=cv2.CV_32F)
        kern -= kern.mean()
        out[sel] = cv2.filter2D(norm, cv2.CV_32F, kern)[sel]
    return np.where(mask, out, 0)


def binarise(enhanced: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the ridge pixels: ridges are dark, so the enhanced response is negative."""
    return (enhanced < 0) & mask


def skeleton(ridges: np.ndarray) -> np.ndarray:
    """Return the one-pixel-wide ridge skeleton."""
    return skeletonize(ridges)


def crossing_numbers(skel: np.ndarray) -> np.ndarray:
    """Return each skeleton pixel's crossing number (1 ending, 3 bifurcation; 0 elsewhere)."""
    padded = np.pad(skel.astype(np.int8), 1)
    h, w = skel.shape
    ring = [padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in RING]
    cn = sum(np.abs(ring[i] - ring[(i + 1) % 8]) for i in range(8)) // 2
    return np.where(skel, cn, 0)


def _ridge_along(ridges: np.ndarray, y: int, x: int, angle: float, reach: int) -> int:
    """Count ridge pixels on the ray from (y, x) toward ``angle``, 2..reach px out."""
    steps = np.arange(2, reach + 1)
    ys = np.clip(np.round(y + steps * np.sin(angle)).astype(int), 0, ridges.shape[0] - 1)
    xs = np.clip(np.round(x + steps * np.cos(angle)).astype(int), 0, ridges.shape[1] - 1)
    return int(ridges[ys, xs].sum())


def _direction(ridges: np.ndarray, y: int, x: int, kind: int, theta: float, reach: int
               ) -> float:
    """Return the minutia direction in radians [0, 2pi), as ISO/IEC 19794-2 defines it.

    The orientation field gives the angle up to its sense; the ridge image decides the
    sense. A bifurcation points into its fork: along the axis, ahead lies the valley that
    ends between the two branches, behind lies the stem. A ridge ending is encoded as the
    bifurcation of the valley around it, so it points back into its own ridge. Both rules
    give the same direction when noise turns one type into the other.
    """
    ahead = _ridge_along(ridges, y, x, theta, reach)
    behind = _ridge_along(ridges, y, x, theta + np.pi, reach)
    forward = ahead >= behind if kind == ENDING else ahead <= behind
    return float((theta if forward else theta + np.pi) % (2 * np.pi))


def minutiae(skel: np.ndarray, ridges: np.ndarray, theta: np.ndarray, coherence: np.ndarray,
             mask: np.ndarray, p: FingerParams) -> np.ndarray:
    """Return minutiae (x, y, angle, type, reliability) with spurious ones removed."""
    framed = mask.astype(np.uint8)
    framed[[0, -1], :] = 0  # the image's edge is a border too
    framed[:, [0, -1]] = 0
    inner = cv2.erode(framed, np.ones((3, 3), np.uint8), iterations=p.border_px).astype(bool)
    cn = crossing_numbers(skel)
    ys, xs = np.nonzero(((cn == ENDING) | (cn == BIFURCATION)) & inner)
    if len(ys) == 0:
        return np.zeros((0, 5), np.float32)
    pts = np.stack([xs, ys], 1).astype(np.float32)
    # Pairs closer than a ridge period are broken ridges, spurs or bridges: drop both.
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    keep = d.min(axis=1) >= p.min_minutia_distance
    out = []
    for y, x in zip(ys[keep], xs[keep], strict=True):
        kind = int(cn[y, x])
        angle = _direction(ridges, int(y), int(x), kind, float(theta[y, x]),
                           p.direction_trace_px)
        out.append((x, y, angle, kind, float(coherence[y, x])))
    arr = np.array(out, np.float32).reshape(-1, 5)
    if len(arr) > p.max_minutiae:
        arr = arr[np.argsort(-arr[:, 4])[:p.max_minutiae]]
    return arr


def extract(gray: np.ndarray, p: FingerParams) -> Features:
    """Run the whole chain on a 500 ppi grey impression; raise when no print is found."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ImageError("a fingerprint must be an HxW uint8 grey image")
    norm = normalise(gray)
    mask = segment(norm, p)
    if mask.mean() < p.min_foreground_fraction:
        raise ImageError("no fingerprint area found in the image", code="no_fingerprint_area")
    theta, coherence = orientation(norm, p)
    period = frequency(norm, mask, p)
    enhanced = enhance(norm, theta, period, mask, p)
    ridges = binarise(enhanced, mask)
    found = minutiae(skeleton(ridges), ridges, theta, coherence, mask, p)
    return Features(found, mask, theta, coherence, period, enhanced)
