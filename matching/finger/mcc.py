"""Minutia Cylinder-Code (Cappelli, Ferrara & Maltoni, IEEE TPAMI 2010), vectorised.

Each minutia gets a cylinder: a grid of Ns x Ns cells around it (rotated to its direction)
times Nd direction bins; a cell holds how strongly neighbouring minutiae with that relative
direction sit near it. Two cylinders are compared only on the cells valid in both; the
local similarities of all pairs are then consolidated into one score (LSS or LSS-R).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.special import erf, expit

from matching.finger.params import FingerParams


@dataclass(frozen=True)
class Cylinders:
    """The cylinders of one template: values, spatial validity and the minutiae kept."""

    values: np.ndarray  # (n, Ns*Ns*Nd) float32, zero on invalid cells
    valid: np.ndarray  # (n, Ns*Ns) float32 0/1
    energy: np.ndarray  # (n, Ns*Ns) float32: sum over directions of value^2, per cell
    minutiae: np.ndarray  # (n, 5) the minutiae that carry a valid cylinder

    def __len__(self) -> int:
        return len(self.minutiae)


def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return a - b wrapped to [-pi, pi)."""
    return (a - b + np.pi) % (2 * np.pi) - np.pi


@lru_cache(maxsize=4)
def _grid(p: FingerParams) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell-centre offsets (Ns*Ns, 2) and direction-bin centres (Nd,)."""
    step = 2 * p.mcc_radius / p.mcc_ns
    idx = (np.arange(p.mcc_ns) - (p.mcc_ns - 1) / 2) * step
    gx, gy = np.meshgrid(idx, idx)
    offsets = np.stack([gx.ravel(), gy.ravel()], 1)
    dstep = 2 * np.pi / p.mcc_nd
    return offsets, -np.pi + (np.arange(p.mcc_nd) + 0.5) * dstep


# Steps of the direction look-up table over [-pi, pi): 0.1 degree, far below the direction
# Gaussian's spread (sigma_d = 40 degrees).
DIRECTION_TABLE_STEPS = 3600


@lru_cache(maxsize=4)
def _direction_table(p: FingerParams) -> np.ndarray:
    """Return (DIRECTION_TABLE_STEPS, Nd) float32: each direction bin's integral of a Gaussian
    centred on a relative direction, for relative directions on a grid over [-pi, pi)."""
    _, bins = _grid(p)
    rel = -np.pi + np.arange(DIRECTION_TABLE_STEPS) * (2 * np.pi / DIRECTION_TABLE_STEPS)
    diff = angle_diff(bins[None, :], rel[:, None])
    half, sd = np.pi / p.mcc_nd, p.mcc_sigma_d * np.sqrt(2)
    return (0.5 * (erf((diff + half) / sd) - erf((diff - half) / sd))).astype(np.float32)


def _near_hull(minutiae: np.ndarray, px: np.ndarray, py: np.ndarray, omega: float
               ) -> np.ndarray:
    """Return whether each point (px, py) lies inside the minutiae's convex hull or within
    ``omega`` of it (exact distance to the hull's edges)."""
    hull = cv2.convexHull(minutiae[:, :2].astype(np.float32)).reshape(-1, 2).astype(np.float64)
    ab = np.roll(hull, -1, 0) - hull
    qx = px.reshape(-1, 1) - hull[None, :, 0]
    qy = py.reshape(-1, 1) - hull[None, :, 1]
    length2 = np.maximum((ab ** 2).sum(1), 1e-12)
    t = np.clip((qx * ab[:, 0] + qy * ab[:, 1]) / length2, 0, 1)
    d2 = (qx - t * ab[:, 0]) ** 2 + (qy - t * ab[:, 1]) ** 2
    cross = ab[:, 0] * qy - ab[:, 1] * qx  # same sign on every edge = inside a convex polygon
    inside = (cross >= 0).all(1) | (cross <= 0).all(1)
    return (inside | (d2.min(1) <= omega ** 2)).reshape(px.shape)


def cylinders(minutiae: np.ndarray, p: FingerParams) -> Cylinders:
    """Build the cylinders of a minutiae set (x, y, angle, type, reliability)."""
    offsets, _ = _grid(p)
    n, ns2, nd = len(minutiae), p.mcc_ns ** 2, p.mcc_nd
    if n < 2:
        return Cylinders(np.zeros((0, ns2 * nd), np.float32), np.zeros((0, ns2), np.float32),
                         np.zeros((0, ns2), np.float32), np.zeros((0, 5), np.float32))
    xy, th = minutiae[:, :2].astype(np.float64), minutiae[:, 2].astype(np.float64)
    cos, sin = np.cos(th), np.sin(th)
    # Cell centres of every cylinder, rotated with its minutia: (n, Ns*Ns) x and y.
    cx_ = xy[:, 0, None] + offsets[None, :, 0] * cos[:, None] - offsets[None, :, 1] * sin[:, None]
    cy_ = xy[:, 1, None] + offsets[None, :, 0] * sin[:, None] + offsets[None, :, 1] * cos[:, None]
    valid = _near_hull(minutiae, cx_, cy_, p.mcc_omega)
    # Spatial contribution of every minutia j to every cell of cylinder i: (n, Ns*Ns, n),
    # in float32 (values feed a sigmoid; float64 buys nothing but time).
    f32 = np.float32
    cells = np.stack([cx_.ravel(), cy_.ravel()], 1)
    d2 = ((cells ** 2).sum(1)[:, None] + (xy ** 2).sum(1)[None, :] - 2 * cells @ xy.T)
    d2 = d2.reshape(n, ns2, n).astype(f32)
    reach = f32((3 * p.mcc_sigma_s) ** 2)
    gs = np.exp(d2 * f32(-1 / (2 * p.mcc_sigma_s ** 2))) * f32(
        1 / (p.mcc_sigma_s * np.sqrt(2 * np.pi)))
    gs *= d2 <= reach
    gs[np.arange(n), :, np.arange(n)] = 0  # a minutia is not its own neighbour
    # Directional contribution: (n, n, Nd), looked up by the direction of j relative to i.
    table = _direction_table(p)
    rel = angle_diff(th[None, :], th[:, None])
    gd = table[np.round((rel + np.pi) * (len(table) / (2 * np.pi))).astype(int) % len(table)]
    contrib = np.matmul(gs, gd)  # (n, Ns*Ns, Nd), a batched product per cylinder
    values = expit(f32(p.mcc_tau_psi) * (contrib - f32(p.mcc_mu_psi)))
    values *= valid[..., None]
    near = (np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
            <= p.mcc_radius + 3 * p.mcc_sigma_s).sum(1) - 1
    keep = (valid.mean(1) >= p.mcc_min_valid_cells) & (near >= p.mcc_min_neighbours)
    values = values[keep].astype(np.float32)
    return Cylinders(values.reshape(len(values), ns2 * nd), valid[keep].astype(np.float32),
                     (values ** 2).sum(-1).astype(np.float32), minutiae[keep])


def local_similarities(a: Cylinders, b: Cylinders, p: FingerParams) -> np.ndarray:
    """Return the (na, nb) matrix of cylinder similarities (0 where not comparable)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    common = a.valid @ b.valid.T
    sa = a.energy @ b.valid.T  # |a|^2 on the cells valid in both
    sb = a.valid @ b.energy.T
    cross = a.values @ b.values.T
    dist = np.sqrt(np.maximum(sa + sb - 2 * cross, 0))
    norm = np.sqrt(sa) + np.sqrt(sb)
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.where(norm > 0, 1 - dist / norm, 0)
    dtheta = np.abs(angle_diff(a.minutiae[:, None, 2], b.minutiae[None, :, 2]))
    ok = (common >= p.mcc_min_matchable * p.mcc_ns ** 2) & (dtheta <= p.mcc_max_direction_diff)
    return np.where(ok, lam, 0).astype(np.float32)


def pairs_to_use(na: int, nb: int, p: FingerParams) -> int:
    """Return n_P: how many top local similarities the global score averages."""
    z = 1 / (1 + np.exp(-p.lss_tau_p * (min(na, nb) - p.lss_mu_p)))
    return int(p.lss_min_np + round(z * (p.lss_max_np - p.lss_min_np)))


def lss(lam: np.ndarray, p: FingerParams) -> float:
    """Local Similarity Sort: the mean of the n_P largest local similarities."""
    if lam.size == 0:
        return 0.0
    n_p = min(pairs_to_use(*lam.shape, p), lam.size)
    top = np.partition(lam.ravel(), -n_p)[-n_p:]
    return float(top.mean())


def _greedy_pairs(lam: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return up to ``count`` one-to-one (i, j) pairs taken greedily by similarity.

    Only the strongest ``8 * count`` entries are ranked (enough in practice to fill
    ``count`` one-to-one pairs); the full matrix is ranked when they are not.
    """
    flat = lam.ravel()
    for pool in (min(flat.size, 8 * count), flat.size):
        top = np.argpartition(-flat, pool - 1)[:pool] if pool < flat.size else \
            np.arange(flat.size)
        top = top[np.argsort(-flat[top], kind="stable")]
        top = top[flat[top] > 0]
        rows, cols = np.divmod(top, lam.shape[1])
        used_i, used_j, ii, jj = set(), set(), [], []
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if i not in used_i and j not in used_j:
                used_i.add(i)
                used_j.add(j)
                ii.append(i)
                jj.append(j)
                if len(ii) == count:
                    break
        if len(ii) == count or pool == flat.size:
            return np.array(ii, int), np.array(jj, int)
    return np.array(ii, int), np.array(jj, int)


def sigmoid(v: np.ndarray, mu: float, tau: float) -> np.ndarray:
    """The paper's Z(v, mu, tau) = 1 / (1 + exp(-tau (v - mu)))."""
    return expit(tau * (v - mu))


def lss_r(lam: np.ndarray, a: Cylinders, b: Cylinders, p: FingerParams) -> float:
    """LSS with Relaxation: pairs whose geometry agrees with the others keep their weight.

    The score is the sum of the n_P best relaxed similarities divided by n_P, also when
    fewer than n_P pairs exist (the missing ones count 0): a template of a few cylinders
    cannot reach a high score from a few chance pairs.
    """
    return lss_r_pairs(lam, a, b, p)[0]


def lss_r_pairs(lam: np.ndarray, a: Cylinders, b: Cylinders, p: FingerParams
                ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Return the LSS-R score and the pairs it summed: rows of ``a``, rows of ``b`` and
    their relaxed similarities (what an alignment of the two impressions can be fitted to)."""
    if lam.size == 0:
        return 0.0, np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    n_p = pairs_to_use(*lam.shape, p)
    ii, jj = _greedy_pairs(lam, int(min(min(lam.shape), round(p.relax_candidates * n_p))))
    if len(ii) < 2:
        w = lam[ii, jj].astype(np.float64)
        return float(w.sum()) / n_p, ii, jj, w
    ma, mb = a.minutiae[ii], b.minutiae[jj]
    da = np.hypot(*(ma[:, None, :2] - ma[None, :, :2]).transpose(2, 0, 1))
    db = np.hypot(*(mb[:, None, :2] - mb[None, :, :2]).transpose(2, 0, 1))
    dtha = angle_diff(ma[:, None, 2], ma[None, :, 2])
    dthb = angle_diff(mb[:, None, 2], mb[None, :, 2])
    # Radial angle: where j lies as seen from i, relative to i's direction (same image axes
    # as the minutia angles, so it is invariant to rotation).
    ra = angle_diff(ma[:, None, 2], np.arctan2(ma[None, :, 1] - ma[:, None, 1],
                                               ma[None, :, 0] - ma[:, None, 0]))
    rb = angle_diff(mb[:, None, 2], np.arctan2(mb[None, :, 1] - mb[:, None, 1],
                                               mb[None, :, 0] - mb[:, None, 0]))
    gap = np.abs(da - db)
    if p.relax_rel:  # a tolerance growing with the distance (elastic distortion)
        gap = gap - p.relax_rel * 0.5 * (da + db)
    rho = (sigmoid(gap, p.relax_mu1, p.relax_tau1)
           * sigmoid(np.abs(angle_diff(dtha, dthb)), p.relax_mu2, p.relax_tau2)
           * sigmoid(np.abs(angle_diff(ra, rb)), p.relax_mu3, p.relax_tau3))
    np.fill_diagonal(rho, 0)
    start = lam[ii, jj].astype(np.float64)
    cur = start.copy()
    for _ in range(p.relax_iterations):
        cur = p.relax_weight * cur + (1 - p.relax_weight) * (rho @ cur) / (len(cur) - 1)
    efficiency = cur / np.maximum(start, 1e-9)
    best = np.argsort(-efficiency)[: min(n_p, len(cur))]
    return float(cur[best].sum()) / n_p, ii[best], jj[best], cur[best]


def similarity(a: Cylinders, b: Cylinders, p: FingerParams) -> float:
    """Return the global MCC score in [0, 1] of two cylinder sets."""
    lam = local_similarities(a, b, p)
    return lss_r(lam, a, b, p) if p.consolidation == "lss-r" else lss(lam, p)
