"""Feature extraction as a linear chain of named stages (each a small function):

    normalise -> segment -> orientation -> frequency -> enhance -> binarise -> skeleton
    -> minutiae

Every stage takes plain arrays and returns plain arrays, so a test or a benchmark can run,
skip or replace one stage and measure what it buys.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree
from skimage.morphology import skeletonize

from matching.exceptions import ImageError
from matching.finger.params import FingerParams

ENDING, BIFURCATION = 1, 3  # minutia types, as their crossing numbers
# The 8 neighbours in circular order (dy, dx), for crossing numbers and tracing.
RING = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
# A local period counts when its spectral peak holds this share of the signature's power
# (a clean ridge pattern puts most of it there; noise spreads it).
PERIOD_PEAK_SHARE = 0.05
# Blocks sampled per cv2.remap call (x period_width rows each; remap takes < 32,767 rows).
REMAP_BLOCKS = 1024
# Weight of the print's median period in the smoothed local period map (a block's own weight
# is ~0.1 after smoothing over 1.5 grid steps, so the median rules only where blocks are few).
PERIOD_MAP_PRIOR = 0.05


@dataclass(frozen=True)
class RidgeEvidence:
    """How much of the print shows ridges: the share of its sampled blocks, and their count."""

    share: float
    blocks: int


@dataclass(frozen=True)
class Features:
    """What the chain yields: minutiae (x, y, angle, type, reliability) and the maps."""

    minutiae: np.ndarray  # (n, 5) float32
    mask: np.ndarray  # bool, foreground
    orientation: np.ndarray  # radians in [0, pi), ridge direction
    coherence: np.ndarray  # [0, 1]
    period: float  # ridge period in px
    enhanced: np.ndarray  # float32
    ridges: RidgeEvidence = RidgeEvidence(1.0, 1 << 30)  # see ridge_periods


def normalise(gray: np.ndarray) -> np.ndarray:
    """Return the image as float32 with zero mean and unit spread."""
    img = gray.astype(np.float32)
    return (img - img.mean()) / (img.std() + 1e-6)


def local_normalise(norm: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Return the image with zero local mean and unit local spread (Gaussian windows).

    Wet or pressed patches of a print are darker and flatter than the rest; under one global
    normalisation the Gabor filters see their edges, not their ridges. Means and spreads are
    taken over the foreground only, so the background does not pull them at the border.
    """
    w = mask.astype(np.float32)
    weight = cv2.GaussianBlur(w, (0, 0), sigma) + 1e-6
    mean = cv2.GaussianBlur(norm * w, (0, 0), sigma) / weight
    dev = norm - mean
    var = cv2.GaussianBlur(dev * dev * w, (0, 0), sigma) / weight
    return np.where(mask, dev / np.sqrt(var + 1e-3), 0).astype(np.float32)


def _largest_region(mask: np.ndarray) -> np.ndarray:
    """Return the largest 4-connected region of a 0/1 mask, holes filled."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return np.zeros_like(mask)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = (labels == biggest).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled


def segment(norm: np.ndarray, p: FingerParams) -> np.ndarray:
    """Return the foreground mask: where the averaged gradient magnitude is high.

    After Cappelli's GMFS (gradient-magnitude fingerprint segmentation): ridges make strong
    gradients, background and smudges weak ones; the local mean magnitude is compared with
    a fraction of a high percentile of the whole image's, so the rule is contrast-free. A
    closing fills gaps between ridges, the largest region is kept with its holes filled,
    an opening removes protrusions.
    """
    gx = cv2.Sobel(norm, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(norm, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy)
    cut = p.segment_threshold * float(np.percentile(magnitude, p.segment_percentile))
    if cut <= 0:
        return np.zeros(norm.shape, bool)
    mean = cv2.GaussianBlur(magnitude, (0, 0), p.segment_sigma)
    mask = (mean > cut).astype(np.uint8)
    cell = np.ones((3, 3), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cell, iterations=p.segment_close)
    mask = _largest_region(mask)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cell, iterations=p.segment_open,
                            borderValue=0)
    return _largest_region(mask).astype(bool)


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


def frequency(norm: np.ndarray, theta: np.ndarray, mask: np.ndarray, p: FingerParams
              ) -> float:
    """Return the ridge period (px): the median of local estimates over the foreground."""
    return ridge_periods(norm, theta, mask, p)[0]


def ridge_periods(norm: np.ndarray, theta: np.ndarray, mask: np.ndarray, p: FingerParams
                  ) -> tuple[float, RidgeEvidence]:
    """Return the ridge period (px) and the evidence that the image has ridges at all."""
    period, evidence, _ = _block_periods(norm, theta, mask, p)
    return period, evidence


def _block_periods(norm: np.ndarray, theta: np.ndarray, mask: np.ndarray, p: FingerParams
                   ) -> tuple[float, RidgeEvidence, tuple[np.ndarray, ...]]:
    """Return the ridge period (px), the ridge evidence and the sampled blocks.

    At points of a grid inside the print, the grey levels of a window oriented across the
    ridges are averaged along them (the x-signature of Hong, Wan & Jain 1998); the
    signature's strongest spatial frequency within the allowed band is that point's
    period. A whole-image spectrum was tried first and missed by up to 50% on wet or dry
    prints (its peak drifts toward the low frequencies of uneven pressure).

    The evidence counts the grid points whose signature is a ridge pattern: most of its
    power in the ridge band, at about the print's period. A fingerprint has them over most
    of the print, a face photo almost nowhere (bench/finger_ridge_gate.py measures both).

    The blocks are arrays over the sampled points: y, x, period, whether the peak is clear,
    and the share of power in the ridge band (for ``period_map`` and ``ridge_quality``).
    """
    h, w = norm.shape
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=p.period_window // 2).astype(bool)
    ys, xs = np.mgrid[p.period_step // 2:h:p.period_step, p.period_step // 2:w:p.period_step]
    keep = inner[ys, xs]
    ys, xs = ys[keep], xs[keep]
    if len(ys) == 0:
        return (p.min_period + p.max_period) / 2, RidgeEvidence(0.0, 0), (
            ys, xs, np.zeros(0), np.zeros(0, bool), np.zeros(0))
    phi = theta[ys, xs].astype(np.float32)  # ridge direction; the signature runs across it
    across = np.arange(p.period_window, dtype=np.float32) - p.period_window / 2
    along = np.arange(p.period_width, dtype=np.float32) - p.period_width / 2
    # Sample coordinates (blocks, along, across), one remap for all blocks.
    cx = (xs[:, None, None] - across[None, None, :] * np.sin(phi)[:, None, None]
          + along[None, :, None] * np.cos(phi)[:, None, None])
    cy = (ys[:, None, None] + across[None, None, :] * np.cos(phi)[:, None, None]
          + along[None, :, None] * np.sin(phi)[:, None, None])
    n = len(ys)
    src = norm.astype(np.float32)
    # cv2.remap maps fewer than 32,767 rows per call: a large image is sampled in chunks.
    sampled = np.concatenate([
        cv2.remap(src, cx[i:i + REMAP_BLOCKS].reshape(-1, p.period_window).astype(np.float32),
                  cy[i:i + REMAP_BLOCKS].reshape(-1, p.period_window).astype(np.float32),
                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for i in range(0, n, REMAP_BLOCKS)])
    signature = sampled.reshape(n, p.period_width, -1).mean(1)
    signature -= signature.mean(1, keepdims=True)
    pad = 4 * p.period_window  # zero-padding interpolates the spectrum finely
    power = np.abs(np.fft.rfft(signature * np.hanning(p.period_window), n=pad, axis=1)) ** 2
    freqs = np.fft.rfftfreq(pad)
    band = (freqs >= 1 / p.max_period) & (freqs <= 1 / p.min_period)
    inband = power[:, band]
    peak = np.argmax(inband, axis=1)
    clear = inband.max(1) > PERIOD_PEAK_SHARE * power[:, 1:].sum(1)
    # A parabola through the peak bin and its neighbours places the peak between bins.
    rows = np.arange(n)
    left = inband[rows, np.maximum(peak - 1, 0)]
    mid = inband[rows, peak]
    right = inband[rows, np.minimum(peak + 1, inband.shape[1] - 1)]
    curve = left - 2 * mid + right
    shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1), 0)
    step = freqs[1] - freqs[0]
    periods = 1 / (freqs[band][peak] + np.clip(shift, -0.5, 0.5) * step)
    period = float(np.median(periods[clear] if clear.any() else periods))
    # Ridge evidence: blocks whose signature keeps most of its power in the ridge band, at a
    # period near the print's median one (a face's in-band blocks are few and disagree).
    ridged = power[:, band].sum(1) > p.ridge_band_share * power[:, 1:].sum(1)
    if ridged.any():
        typical = float(np.median(periods[ridged]))
        ridged &= np.abs(periods - typical) < p.ridge_period_tolerance * typical
    share = power[:, band].sum(1) / np.maximum(power[:, 1:].sum(1), 1e-12)
    blocks = (ys, xs, periods, clear, share)
    return period, RidgeEvidence(float(ridged.mean()), int(ridged.sum())), blocks


def period_map(shape: tuple[int, int], period: float, local: tuple[np.ndarray, ...],
               p: FingerParams) -> np.ndarray:
    """Return a per-pixel ridge period: the local x-signature periods, smoothed.

    Hong, Wan & Jain (1998) tune each Gabor filter to the local ridge frequency; the
    period varies over a print (narrower toward the tip, wider in dry or pressed areas).
    The block periods are median-filtered over their 3x3 grid neighbours (one wrong block
    does not make a patch), spread by normalised Gaussian averaging over the grid (blocks
    without a clear peak take their neighbours' value, far from any the print's median),
    and held within ``period_map_range`` of the median.
    """
    h, w = shape
    ys, xs, periods, clear, _ = local
    ys, xs, periods = ys[clear], xs[clear], periods[clear]
    step = p.period_step
    gh, gw = (h + step - 1) // step, (w + step - 1) // step
    grid = np.full((gh, gw), np.nan, np.float32)
    grid[ys // step, xs // step] = periods
    padded = np.pad(grid, 1, constant_values=np.nan)
    stack = np.stack([padded[dy:dy + gh, dx:dx + gw] for dy in range(3) for dx in range(3)])
    with warnings.catch_warnings():  # all-NaN neighbourhoods give NaN, which is wanted
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(stack, 0)
    have = np.isfinite(grid)
    value = np.where(have, med, 0).astype(np.float32)
    weight = have.astype(np.float32)
    value = cv2.GaussianBlur(value, (0, 0), p.period_map_sigma)
    weight = cv2.GaussianBlur(weight, (0, 0), p.period_map_sigma)
    # Where the blocks thin out, the print's median takes over.
    smooth = (value + PERIOD_MAP_PRIOR * period) / (weight + PERIOD_MAP_PRIOR)
    lo, hi = period / p.period_map_range, period * p.period_map_range
    smooth = np.clip(smooth, lo, hi)
    return cv2.resize(smooth, (gw * step, gh * step), interpolation=cv2.INTER_LINEAR)[:h, :w]


def ridge_quality(shape: tuple[int, int], blocks: tuple[np.ndarray, ...], p: FingerParams
                  ) -> np.ndarray:
    """Return a per-pixel ridge quality in [0, 1]: the share of each block's x-signature
    power that lies in the ridge band, spread smoothly between blocks.

    A clean ridge pattern puts most of its power at one period (share ~0.8-0.95); a wet blob,
    a smudge or a scar does not (share < 0.2), and the Gabor filters turn such patches into
    ridge-like noise full of false minutiae (a quality map in the manner of NIST mindtct's
    low-flow / low-contrast blocks). Where no block was sampled the quality is 1: the
    foreground border rule already covers the print's edge.
    """
    h, w = shape
    ys, xs, _, _, share = blocks
    step = p.period_step
    gh, gw = (h + step - 1) // step, (w + step - 1) // step
    value = np.zeros((gh, gw), np.float32)
    weight = np.zeros((gh, gw), np.float32)
    value[ys // step, xs // step] = share
    weight[ys // step, xs // step] = 1
    value = cv2.GaussianBlur(value, (0, 0), p.ridge_quality_sigma)
    weight = cv2.GaussianBlur(weight, (0, 0), p.ridge_quality_sigma)
    grid = np.where(weight > 1e-3, value / np.maximum(weight, 1e-3), 1).astype(np.float32)
    return cv2.resize(grid, (gw * step, gh * step), interpolation=cv2.INTER_LINEAR)[:h, :w]


def enhance(norm: np.ndarray, theta: np.ndarray, period: float | np.ndarray,
            mask: np.ndarray, p: FingerParams) -> np.ndarray:
    """Contextual Gabor filtering: each pixel takes the filter tuned to its orientation.

    Each orientation's filter runs only over the box of the pixels that take it, plus the
    kernel's reach of real image around it, so the response there is the whole-image one
    (the same values; measured 59 -> 24 ms per FVC impression).
    """
    n = p.gabor_orientations
    index = np.round(theta / np.pi * n).astype(np.int32) % n
    if np.ndim(period) == 0:
        tuned, band = [float(period)], np.zeros(norm.shape, np.int32)
    else:
        # Periods in bins a factor period_bin_step apart, centred on the median one.
        centre = float(np.median(period[mask])) if mask.any() else float(period.mean())
        band = np.round(np.log(period / centre) / np.log(p.period_bin_step)).astype(np.int32)
        lo, hi = int(band.min()), int(band.max())
        tuned = [centre * p.period_bin_step ** b for b in range(lo, hi + 1)]
        band -= lo
    out = np.zeros_like(norm)
    reach = p.gabor_kernel // 2
    h, w = norm.shape
    for k, (b, lam) in itertools.product(range(n), enumerate(tuned)):
        sel = (index == k) & (band == b) & mask
        if not sel.any():
            continue
        ys, xs = np.nonzero(sel)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        py, px = max(0, y0 - reach), max(0, x0 - reach)
        # cv2's theta is the direction across the stripes: the ridge direction + 90 degrees.
        kern = cv2.getGaborKernel((p.gabor_kernel, p.gabor_kernel), p.gabor_sigma,
                                  k * np.pi / n + np.pi / 2, lam, 1.0, 0, ktype=cv2.CV_32F)
        kern -= kern.mean()
        response = cv2.filter2D(norm[py:min(h, y1 + reach), px:min(w, x1 + reach)],
                                cv2.CV_32F, kern)
        box = sel[y0:y1, x0:x1]
        out[y0:y1, x0:x1][box] = response[y0 - py:y1 - py, x0 - px:x1 - px][box]
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
             mask: np.ndarray, p: FingerParams, quality: np.ndarray | None = None
             ) -> np.ndarray:
    """Return minutiae (x, y, angle, type, reliability) with spurious ones removed.

    With a ridge ``quality`` map, candidates where it is below ``p.min_ridge_quality``, or
    within ``p.quality_border_px`` of such a patch, are dropped too.
    """
    framed = mask.astype(np.uint8)
    framed[[0, -1], :] = 0  # the image's edge is a border too
    framed[:, [0, -1]] = 0
    cell = np.ones((3, 3), np.uint8)
    inner = cv2.erode(framed, cell, iterations=p.border_px).astype(bool)
    if quality is not None and p.min_ridge_quality > 0:
        good = (quality >= p.min_ridge_quality).astype(np.uint8)
        inner &= cv2.erode(good, cell, iterations=p.quality_border_px,
                           borderValue=1).astype(bool)
    cn = crossing_numbers(skel)
    ys, xs = np.nonzero(((cn == ENDING) | (cn == BIFURCATION)) & inner)
    if len(ys) == 0:
        return np.zeros((0, 5), np.float32)
    pts = np.stack([xs, ys], 1).astype(np.float32)
    # Pairs closer than a ridge period are broken ridges, spurs or bridges: drop both. A k-d
    # tree finds them in O(n log n): a noisy large image has tens of thousands of candidates,
    # whose full distance matrix would take gigabytes.
    near = cKDTree(pts).query_pairs(p.min_minutia_distance - 1e-3, output_type="ndarray")
    keep = np.ones(len(pts), bool)
    keep[near.ravel()] = False
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
    period, evidence, local = _block_periods(norm, theta, mask, p)
    tuning = period_map(norm.shape, period, local, p) if p.local_period else period
    source = local_normalise(norm, mask, p.local_norm_sigma) if p.local_norm_sigma else norm
    enhanced = enhance(source, theta, tuning, mask, p)
    ridges = binarise(enhanced, mask)
    quality = ridge_quality(norm.shape, local, p) if p.min_ridge_quality > 0 else None
    found = minutiae(skeleton(ridges), ridges, theta, coherence, mask, p, quality)
    return Features(found, mask, theta, coherence, period, enhanced, evidence)
