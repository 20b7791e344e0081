"""A second, non-minutiae score: ridge-orientation agreement of two impressions after the
alignment their MCC pairs imply (issue 21, third pass; measured, not wired into the engine).

An impression's orientation field is kept as a coarse grid (BLOCK px cells, the mean ridge
direction of each cell quantised to whole degrees in one byte, BACKGROUND where the cell is
not mostly foreground). Two grids are compared under a rigid transform (rotation ``phi``,
translation ``t``, mapping the first impression's pixels onto the second's): the score is the
share of overlapping cells whose directions agree within AGREE_DEG. The transform is fitted
to the minutiae pairs LSS-R kept (``mcc.lss_r_pairs``): either all of them at once, or each
pair on its own (its positions and directions give one transform) keeping the best.

Measured on issue 21's development fingers (BENCHMARKS.md, bench/finger_orientation.py): the
agreement separates genuine from impostor pairs on the whole, but not in the tails that
decide FNMR at FMR 1e-3 (the top impostors' fields agree as well as genuine ones do), so no
fusion with MCC lowered the development error and templates do not carry the grid.

Also here: per-minutia orientation descriptors (Tico & Kuosmanen 2003) and their pairwise
similarities; fused with MCC's local similarities they lowered FVC2004 DB2 B's error but
raised the other sets' on development (BENCHMARKS.md): not used by the engine either.
"""

from __future__ import annotations

import numpy as np

from matching.finger import mcc

BLOCK = 16  # grid cell, px at 500 ppi (~2 ridge periods)
FOREGROUND_SHARE = 0.75  # a cell counts when this share of its pixels is foreground
BACKGROUND = 255  # grid value of a cell outside the print
AGREE_DEG = 10.0  # two cells agree when their ridge directions differ by less than this


def orientation_grid(theta: np.ndarray, mask: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Return the uint8 grid of mean ridge directions (degrees, [0, 180)) per cell."""
    gh, gw = theta.shape[0] // block, theta.shape[1] // block
    crop = (slice(0, gh * block), slice(0, gw * block))

    def cells(a: np.ndarray) -> np.ndarray:
        return a[crop].reshape(gh, block, gw, block).sum((1, 3))

    m = mask[crop].astype(np.float64)
    count = cells(m)
    # Directions average as doubled angles (0 and 180 degrees are the same ridge).
    c, s = cells(np.cos(2 * theta[crop]) * m), cells(np.sin(2 * theta[crop]) * m)
    deg = np.round(np.degrees(0.5 * np.arctan2(s, c)) % 180).astype(int) % 180
    return np.where(count >= FOREGROUND_SHARE * block * block, deg, BACKGROUND).astype(np.uint8)


def agreement(ga: np.ndarray, gb: np.ndarray, phi: float, t: np.ndarray,
              block: int = BLOCK) -> tuple[float, int]:
    """Return the share of overlapping cells that agree within AGREE_DEG, and the overlap.

    Each foreground cell centre of ``ga`` is mapped by (phi, t) into ``gb``; its direction
    turns by ``phi``. Zero and 0 cells when the grids do not overlap.
    """
    ys, xs = np.nonzero(ga != BACKGROUND)
    cx, cy = (xs + 0.5) * block, (ys + 0.5) * block
    c, s = np.cos(phi), np.sin(phi)
    jx = np.floor((c * cx - s * cy + t[0]) / block).astype(int)
    jy = np.floor((s * cx + c * cy + t[1]) / block).astype(int)
    inside = (jx >= 0) & (jy >= 0) & (jx < gb.shape[1]) & (jy < gb.shape[0])
    other = np.full(len(ys), BACKGROUND, int)
    other[inside] = gb[jy[inside], jx[inside]]
    both = other != BACKGROUND
    if not both.any():
        return 0.0, 0
    diff = (ga[ys[both], xs[both]].astype(float) + np.degrees(phi) - other[both]) % 180
    diff = np.minimum(diff, 180 - diff)
    return float((diff < AGREE_DEG).mean()), int(both.sum())


def pair_transform(ma: np.ndarray, mb: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the rigid transform (phi, t) that maps minutia ``ma`` onto minutia ``mb``."""
    phi = float(mcc.angle_diff(np.float64(mb[2]), np.float64(ma[2])))
    c, s = np.cos(phi), np.sin(phi)
    return phi, np.array([mb[0] - (c * ma[0] - s * ma[1]), mb[1] - (s * ma[0] + c * ma[1])])


def fitted_transform(ma: np.ndarray, mb: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the weighted least-squares rigid transform mapping points ``ma`` onto ``mb``
    (rows x, y, angle, ...); from the minutiae directions when the points cannot fix it."""
    w = np.maximum(np.asarray(w, np.float64), 1e-9)
    pa, pb = ma[:, :2].astype(np.float64), mb[:, :2].astype(np.float64)
    ca, cb = w @ pa / w.sum(), w @ pb / w.sum()
    x, y = pa - ca, pb - cb
    dot = (w * (x * y).sum(1)).sum()
    cross = (w * (x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0])).sum()
    if abs(dot) + abs(cross) > 1e-6:
        phi = float(np.arctan2(cross, dot))
    else:
        d = mcc.angle_diff(mb[:, 2].astype(np.float64), ma[:, 2].astype(np.float64))
        phi = float(np.arctan2((w * np.sin(d)).sum(), (w * np.cos(d)).sum()))
    c, s = np.cos(phi), np.sin(phi)
    return phi, cb - np.array([c * ca[0] - s * ca[1], s * ca[0] + c * ca[1]])


def orientation_scores(ga: np.ndarray, gb: np.ndarray, ma: np.ndarray, mb: np.ndarray,
                       w: np.ndarray) -> dict[str, float]:
    """Return the agreement under the transform fitted to all pairs (``fitted``) and the best
    over the pairs' own transforms (``best``), with the overlap (cells) of each."""
    if not len(ma):
        return {"fitted": 0.0, "fitted_overlap": 0, "best": 0.0, "best_overlap": 0}
    fitted, fitted_overlap = agreement(ga, gb, *fitted_transform(ma, mb, w))
    each = [agreement(ga, gb, *pair_transform(a, b)) for a, b in zip(ma, mb, strict=True)]
    best, best_overlap = max(each)
    return {"fitted": fitted, "fitted_overlap": fitted_overlap, "best": best,
            "best_overlap": best_overlap}


# Orientation descriptor of a minutia (after Tico & Kuosmanen 2003): the ridge direction,
# relative to the minutia's, at DESCRIPTOR_POINTS points on circles of DESCRIPTOR_RADII px
# around it (the circles turn with the minutia, so the descriptor does not change with rotation).
DESCRIPTOR_RADII = (27, 45, 63, 81)
DESCRIPTOR_POINTS = (10, 16, 22, 28)
DESCRIPTOR_MIN_COMMON = 20  # fewer points inside both prints: not comparable (similarity 0)
_TURNS = np.concatenate([np.arange(k) * 2 * np.pi / k for k in DESCRIPTOR_POINTS])
_RADII = np.concatenate([[r] * k for r, k in zip(DESCRIPTOR_RADII, DESCRIPTOR_POINTS,
                                                 strict=True)]).astype(np.float64)


def minutia_descriptors(minutiae: np.ndarray, theta: np.ndarray, mask: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Return each minutia's descriptor as doubled-angle unit vectors (n, points) complex64,
    zero off the foreground, and the (n, points) 0/1 foreground mask."""
    m = np.asarray(minutiae, np.float64)
    turn = m[:, 2:3] + _TURNS[None, :]
    x = np.round(m[:, 0:1] + _RADII * np.cos(turn)).astype(int)
    y = np.round(m[:, 1:2] + _RADII * np.sin(turn)).astype(int)
    h, w = theta.shape
    xs, ys = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    ok = (x >= 0) & (y >= 0) & (x < w) & (y < h) & mask[ys, xs]
    z = np.where(ok, np.exp(2j * (theta[ys, xs] - m[:, 2:3])), 0)
    return z.astype(np.complex64), ok.astype(np.float32)


def descriptor_similarities(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
                            ) -> np.ndarray:
    """Return the (na, nb) mean cos(2 x direction difference) over the points both
    descriptors have (0 where they share fewer than DESCRIPTOR_MIN_COMMON)."""
    (za, ma), (zb, mb) = a, b
    common = ma @ mb.T
    agree = (za @ np.conj(zb).T).real
    return np.where(common >= DESCRIPTOR_MIN_COMMON, agree / np.maximum(common, 1), 0)
