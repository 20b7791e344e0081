"""MCC scores of one probe against many candidates at once (1:N re-ranking, bulk 1:1).

The same score as ``mcc.similarity`` for each candidate, computed for the whole batch with a
fixed number of numpy calls instead of a fixed number per candidate: the local similarities
of every candidate come from one matrix product over their stacked cylinders; the greedy
one-to-one pairing of LSS-R is run as rounds of mutual best pairs over all candidates (an
entry that is the largest of its row and of its column is exactly what the greedy scan would
take next there); the relaxation runs on zero-padded pair sets. Ties between exactly equal
local similarities may pair differently than the one-at-a-time path (whose tie order is
arbitrary too); tests hold the two paths to the same scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.finger import mcc
from matching.finger.params import FingerParams


def _local(a: mcc.Cylinders, bs: Sequence[mcc.Cylinders], p: FingerParams) -> np.ndarray:
    """Return the local similarities as a (B, na, max nb) array, zero-padded."""
    stacked = mcc.Cylinders(np.concatenate([b.values for b in bs]),
                            np.concatenate([b.valid for b in bs]),
                            np.concatenate([b.energy for b in bs]),
                            np.concatenate([b.minutiae for b in bs]))
    flat = mcc.local_similarities(a, stacked, p)  # (na, sum nb)
    nb = np.array([len(b) for b in bs])
    owner = np.repeat(np.arange(len(bs)), nb)
    column = np.arange(len(owner)) - np.repeat(np.cumsum(nb) - nb, nb)
    out = np.zeros((len(bs), len(a), nb.max()), np.float32)
    out[owner, :, column] = flat.T
    return out


def _pairs_to_use(na: int, nb: np.ndarray, p: FingerParams) -> np.ndarray:
    """Vectorised ``mcc.pairs_to_use``."""
    z = 1 / (1 + np.exp(-p.lss_tau_p * (np.minimum(na, nb) - p.lss_mu_p)))
    return (p.lss_min_np + np.round(z * (p.lss_max_np - p.lss_min_np))).astype(int)


def _lss(lam: np.ndarray, na: int, nb: np.ndarray, n_p: np.ndarray) -> np.ndarray:
    """Batched LSS: the mean of each candidate's n_P largest local similarities."""
    n_p = np.minimum(n_p, na * nb)
    top = -np.sort(-lam.reshape(len(lam), -1), axis=1)[:, : n_p.max()]
    keep = np.arange(top.shape[1])[None, :] < n_p[:, None]
    return (top * keep).sum(1) / n_p


def _greedy(lam: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return each candidate's ``count`` strongest one-to-one pairs, as the greedy scan would.

    Arrays (B, C) of row, column and value, sorted strongest first, and the number of pairs
    each candidate got (fewer than ``count`` when it runs out of positive entries).
    """
    m = lam.copy()
    b_n, na, nb = m.shape
    cap = min(na, nb)
    acc_i = np.zeros((b_n, cap), int)
    acc_j = np.zeros((b_n, cap), int)
    acc_v = np.full((b_n, cap), -np.inf, np.float32)
    n_acc = np.zeros(b_n, int)
    rows = np.arange(na)[None, :]
    while True:
        left = m.max(axis=(1, 2))
        good = (acc_v >= left[:, None]).sum(1)
        if np.all((left <= 0) | (good >= count)):
            break
        jstar = m.argmax(2)
        value = np.take_along_axis(m, jstar[..., None], 2)[..., 0]
        back = np.take_along_axis(m.argmax(1), jstar, 1)
        bb, ii = np.nonzero((value > 0) & (back == rows))
        jj = jstar[bb, ii]
        slot = n_acc[bb] + np.arange(len(bb)) - np.searchsorted(bb, bb)
        acc_i[bb, slot], acc_j[bb, slot], acc_v[bb, slot] = ii, jj, value[bb, ii]
        n_acc += np.bincount(bb, minlength=b_n)
        m[bb, ii, :] = 0
        m[bb, :, jj] = 0
    order = np.argsort(-acc_v, axis=1, kind="stable")
    got = np.minimum(count, n_acc)
    c = max(int(got.max()), 1)
    take = order[:, :c]
    return (np.take_along_axis(acc_i, take, 1), np.take_along_axis(acc_j, take, 1),
            np.take_along_axis(acc_v, take, 1), got)


def _lss_r(lam: np.ndarray, a: mcc.Cylinders, bs: Sequence[mcc.Cylinders], nb: np.ndarray,
           n_p: np.ndarray, p: FingerParams) -> np.ndarray:
    """Batched LSS-R (as ``mcc.lss_r`` for each candidate)."""
    count = np.minimum(np.minimum(len(a), nb), np.round(p.relax_candidates * n_p)).astype(int)
    ii, jj, start, got = _greedy(lam, count)
    c = ii.shape[1]
    live = np.arange(c)[None, :] < got[:, None]
    start = np.where(live, start, 0).astype(np.float64)
    pad = np.zeros((len(bs), int(nb.max()), a.minutiae.shape[1]), a.minutiae.dtype)
    for k, b in enumerate(bs):
        pad[k, : len(b)] = b.minutiae
    ma = a.minutiae[ii]
    mb = np.take_along_axis(pad, jj[..., None], 1)

    def geometry(m: np.ndarray) -> tuple[np.ndarray, ...]:
        dx = m[:, None, :, 0] - m[:, :, None, 0]
        dy = m[:, None, :, 1] - m[:, :, None, 1]
        theta = m[..., 2]
        return (np.hypot(dx, dy), mcc.angle_diff(theta[:, :, None], theta[:, None, :]),
                mcc.angle_diff(theta[:, :, None], np.arctan2(dy, dx)))

    (da, dtha, ra), (db, dthb, rb) = geometry(ma), geometry(mb)
    gap = np.abs(da - db)
    if p.relax_rel:  # as mcc.lss_r
        gap = gap - p.relax_rel * 0.5 * (da + db)
    rho = (mcc.sigmoid(gap, p.relax_mu1, p.relax_tau1)
           * mcc.sigmoid(np.abs(mcc.angle_diff(dtha, dthb)), p.relax_mu2, p.relax_tau2)
           * mcc.sigmoid(np.abs(mcc.angle_diff(ra, rb)), p.relax_mu3, p.relax_tau3))
    rho *= live[:, :, None] & live[:, None, :]
    rho[:, np.arange(c), np.arange(c)] = 0
    cur = start.copy()
    others = np.maximum(got - 1, 1)[:, None]
    for _ in range(p.relax_iterations):
        cur = p.relax_weight * cur + (1 - p.relax_weight) * (
            np.matmul(rho, cur[..., None])[..., 0]) / others
    efficiency = np.where(live, cur / np.maximum(start, 1e-9), -np.inf)
    best = np.argsort(-efficiency, axis=1, kind="stable")
    use = np.minimum(n_p, got)
    chosen = np.take_along_axis(cur, best, 1) * (np.arange(c)[None, :] < use[:, None])
    scores = chosen.sum(1) / n_p  # missing pairs count 0 (as the 1:1 path)
    # Fewer than two pairs: no relaxation (as the 1:1 path).
    few = got < 2
    scores[few] = np.where(got[few] == 1, start[few, 0], 0.0) / n_p[few]
    return scores


def similarities(a: mcc.Cylinders, bs: Sequence[mcc.Cylinders],
                 p: FingerParams) -> np.ndarray:
    """Return the global MCC score of ``a`` against each of ``bs``, in [0, 1]."""
    out = np.zeros(len(bs))
    live = [k for k, b in enumerate(bs) if len(b)]
    if not len(a) or not live:
        return out
    cands = [bs[k] for k in live]
    lam = _local(a, cands, p)
    nb = np.array([len(b) for b in cands])
    n_p = _pairs_to_use(len(a), nb, p)
    out[live] = (_lss_r(lam, a, cands, nb, n_p, p) if p.consolidation == "lss-r"
                 else _lss(lam, len(a), nb, n_p))
    return out
