"""The vote and code-score steps of fingerprint 1:N, on plain arrays (no index state), shared by
the embedded index (``matching.finger.index``) and the Milvus gallery (``biometrics.milvus``).
"""

from __future__ import annotations

import numpy as np

from matching.finger import mcc
from matching.finger.params import FingerParams


def popcounts(packed: np.ndarray) -> np.ndarray:
    """Return the number of set bits of each packed code."""
    return np.unpackbits(packed, axis=1).sum(1).astype(np.float32)


def bit_similarity(hamming: np.ndarray, bits_a: np.ndarray, bits_b: np.ndarray) -> np.ndarray:
    """Return the bit-based MCC similarity (Cappelli et al.) 1 - sqrt(hamming) / (sqrt(|a|) +
    sqrt(|b|)); unlike raw Hamming distance it does not favour sparse codes."""
    return 1 - np.sqrt(hamming) / (np.sqrt(bits_a) + np.sqrt(bits_b) + 1e-9)


def vote(sim: np.ndarray, owner: np.ndarray, ok: np.ndarray, pool: int
         ) -> list[tuple[int, float]]:
    """Return the ``pool`` best-voted fingers as (id, votes), best first: each probe code
    (a row of ``sim``: its neighbours' similarities, ``owner`` their finger ids, ``ok`` which
    count) gives each finger its best neighbour's similarity, squared, as one vote."""
    votes: dict[int, float] = {}
    for s_row, o_row, ok_row in zip(sim, owner, ok, strict=True):
        best: dict[int, float] = {}
        for s, fid in zip(s_row[ok_row].tolist(), o_row[ok_row].tolist(), strict=True):
            if s > best.get(fid, -1.0):
                best[fid] = s  # one vote per finger
        for fid, s in best.items():
            votes[fid] = votes.get(fid, 0.0) + max(0.0, s) ** 2
    return sorted(votes.items(), key=lambda kv: -kv[1])[:pool]


def code_scores(params: FingerParams, probe: np.ndarray, stored: list[np.ndarray],
                stored_bits: list[np.ndarray] | None = None) -> np.ndarray:
    """Return a bit-based MCC score (LSS over packed codes) of the probe's packed codes
    against each candidate's stored packed codes (``stored_bits``: their popcounts, when
    known)."""
    if not len(probe) or not stored:
        return np.zeros(len(stored))
    width = max(len(c) for c in stored) or 1
    nbytes = probe.shape[1]
    g_packed = np.zeros((len(stored), width, nbytes), np.uint8)
    present = np.zeros((len(stored), width), bool)
    gn = np.zeros((len(stored), width), np.float32)
    for j, c in enumerate(stored):
        g_packed[j, :len(c)] = c
        present[j, :len(c)] = True
        gn[j, :len(c)] = popcounts(c) if stored_bits is None else stored_bits[j]
    q = np.unpackbits(probe, axis=1).astype(np.float32)
    g = np.unpackbits(g_packed.reshape(-1, nbytes), axis=1).astype(np.float32)
    qn, gn = q.sum(1), gn.ravel()
    ham = np.maximum(qn[:, None] + gn[None, :] - 2 * q @ g.T, 0)
    sim = bit_similarity(ham, qn[:, None], gn[None, :])
    sim = np.where(present.ravel()[None, :], sim, 0).reshape(len(q), len(stored), width)
    per_id = np.sort(sim.transpose(1, 0, 2).reshape(len(stored), -1), axis=1)[:, ::-1]
    top = [mcc.pairs_to_use(len(q), max(1, len(c)), params) for c in stored]
    return np.array([per_id[j, :n].mean() for j, n in enumerate(top)])
