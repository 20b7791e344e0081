"""Issue 21, third pass: an orientation-field agreement score after MCC alignment, and score
normalisation by template size / overlap, a consolidation over the pairs an alignment lines up,
and local similarities re-weighted by minutia type, reliability or orientation descriptors
(Tico & Kuosmanen), each measured against today's MCC score on the shared FVC sets with the
protocol of bench/finger_variants.py.

    OPENBLAS_NUM_THREADS=1 python bench/finger_orientation.py --datasets ../shared/data \
        --registration  # optional: also the free registration (~9 ms a pair)

Development = fingers 101-105 of every set (weights and the logistic fusion are fitted or
chosen there), held out = 106-110, whole = all ten; all impostors. The orientation grids
(matching.finger.orientation) are computed here from the extraction's maps: templates do not
carry them. Also prints the CPU cost of the orientation step per comparison. One JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.finger_pooled import PARTS, wilson  # noqa: E402
from matching.finger import mcc  # noqa: E402
from matching.finger.engine import (  # noqa: E402
    FingerprintEngine,
    Matcher,
    quality_features,
    quality_score,
)
from matching.finger.evaluate import EVAL_MAX_BYTES, EVAL_MAX_PIXELS, fingers, fvc_pairs  # noqa
from matching.finger.extract import extract  # noqa: E402
from matching.finger.image import decode_fingerprint  # noqa: E402
from matching.finger.orientation import (  # noqa: E402
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
from matching.finger.template import FingerprintTemplate  # noqa: E402
from matching.metrics import error_rates  # noqa: E402

SETS = ("fvc2004-db1b", "fvc2002-db1b", "fvc2004-db2b")  # the column order of BENCHMARKS.md
S_SCALE = 40.0  # MCC scores sit near 0.02-0.05 at the decision thresholds: scaled for the fit
# Aligned LSS: pairs count only when the transform puts them this close (px) and this parallel
ALIGNED_PX, ALIGNED_RAD = 15.0, np.pi / 6
# Local similarities re-weighted before LSS-R: by minutia type agreement, by reliability
TYPE_FACTORS = (0.85, 0.7)  # a pair of different types (ending / bifurcation) keeps this share
RELIABILITY_POWERS = (0.5, 1.0)  # x sqrt(reliability_a x reliability_b) ** power
# Local similarities fused with the minutiae's orientation descriptors (o, clipped at 0):
# lam x (1 - b + b o) for each DESCRIPTOR_PRODUCT b, (1 - b) lam + b o for DESCRIPTOR_SUM b
DESCRIPTOR_PRODUCT = (0.1, 0.2, 0.3, 0.5, 1.0)
DESCRIPTOR_SUM = (0.1, 0.2, 0.3, 0.5)


# Orientation-field registration (independent of the minutiae): rotations searched, in
# degrees, and the fewest overlapping grid cells a position must have
REGISTRATION_DEG = np.arange(-45, 46, 5)
REGISTRATION_MIN_CELLS = 60


def _padded_fft(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return the real FFT of ``x`` zero-padded to ``shape``."""
    z = np.zeros(shape, np.float32)
    z[:x.shape[0], :x.shape[1]] = x
    return np.fft.rfft2(z)


def register(ga: np.ndarray, gb: np.ndarray) -> float:
    """Return the mean cos(2 x direction difference) over the overlap at the rotation and
    translation (whole grid cells) that maximise its sum, searched exhaustively by FFT
    correlation of the doubled-angle fields (0 when no position overlaps enough)."""
    def field(g: np.ndarray) -> tuple[np.ndarray, ...]:
        m = (g != BACKGROUND).astype(np.float32)
        th = np.radians(g.astype(np.float32))
        return m, m * np.cos(2 * th), m * np.sin(2 * th)

    (ma, ca, sa), fb = field(ga), field(gb)
    h, w = ga.shape
    side = int(np.ceil(np.hypot(h, w))) + 2
    shape = (cv2.getOptimalDFTSize(side + gb.shape[0]), cv2.getOptimalDFTSize(side + gb.shape[1]))
    mb, cb, sb = (_padded_fft(x, shape) for x in fb)
    best_sum, best_mean = -np.inf, 0.0
    for deg in REGISTRATION_DEG:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), -float(deg), 1.0)
        m[:, 2] += [(side - w) / 2, (side - h) / 2]
        rm, rc, rs = (cv2.warpAffine(x, m, (side, side), flags=cv2.INTER_NEAREST)
                      for x in (ma, ca, sa))
        c2, s2 = np.cos(2 * np.radians(deg)), np.sin(2 * np.radians(deg))
        rc, rs = rc * c2 - rs * s2, rc * s2 + rs * c2
        overlap = np.fft.irfft2(np.conj(_padded_fft(rm, shape)) * mb, shape)
        agree = np.fft.irfft2(np.conj(_padded_fft(rc, shape)) * cb
                              + np.conj(_padded_fft(rs, shape)) * sb, shape)
        agree = np.where(overlap >= REGISTRATION_MIN_CELLS - 0.5, agree, -np.inf)
        k = np.unravel_index(np.argmax(agree), agree.shape)
        if agree[k] > best_sum:
            best_sum, best_mean = agree[k], float(agree[k] / overlap[k])
    return best_mean


def inside(m: np.ndarray, grid: np.ndarray, phi: float, t: np.ndarray) -> int:
    """Return how many minutiae ``m`` the transform (phi, t) puts on ``grid``'s foreground."""
    c, s = np.cos(phi), np.sin(phi)
    jx = np.floor((c * m[:, 0] - s * m[:, 1] + t[0]) / BLOCK).astype(int)
    jy = np.floor((s * m[:, 0] + c * m[:, 1] + t[1]) / BLOCK).astype(int)
    ok = (jx >= 0) & (jy >= 0) & (jx < grid.shape[1]) & (jy < grid.shape[0])
    return int((grid[jy[ok], jx[ok]] != BACKGROUND).sum())


def inverse(phi: float, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the inverse of the rigid transform (phi, t)."""
    c, s = np.cos(-phi), np.sin(-phi)
    return -phi, -np.array([c * t[0] - s * t[1], s * t[0] + c * t[1]])


def aligned_lss(lam: np.ndarray, a: mcc.Cylinders, b: mcc.Cylinders, phi: float,
                t: np.ndarray, n_p: int) -> float:
    """Return the sum of the n_P best one-to-one local similarities among the pairs the
    transform lines up (within ALIGNED_PX and ALIGNED_RAD), divided by n_P."""
    c, s = np.cos(phi), np.sin(phi)
    xa = a.minutiae[:, 0] * c - a.minutiae[:, 1] * s + t[0]
    ya = a.minutiae[:, 0] * s + a.minutiae[:, 1] * c + t[1]
    near = np.hypot(xa[:, None] - b.minutiae[None, :, 0], ya[:, None] - b.minutiae[None, :, 1])
    turn = np.abs(mcc.angle_diff(a.minutiae[:, None, 2] + phi, b.minutiae[None, :, 2]))
    kept = np.where((near < ALIGNED_PX) & (turn < ALIGNED_RAD), lam, 0)
    ii, jj = mcc._greedy_pairs(kept, n_p)
    return float(kept[ii, jj].sum()) / n_p


def logistic_fit(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Return logistic-regression weights (bias first), classes weighted equally (Newton)."""
    x = np.c_[np.ones(len(x)), x]
    w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    b = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ b))
        h = (x * (w * p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(len(b))
        b -= np.linalg.solve(h, x.T @ (w * (p - y)) + 1e-3 * b)
    return b


def collect(datasets: Path, registration: bool = False) -> dict[str, np.ndarray]:
    """Score every all-impostor pair of the three sets: MCC and the orientation features."""
    engine = FingerprintEngine()
    cols: dict[str, list] = {k: [] for k in (
        "set", "finger_a", "finger_b", "genuine", "mcc", "fitted", "fitted_overlap", "best",
        "best_overlap", "cylinders", "inside", "relaxed", "aligned_fitted",
        "aligned_oriented", "registered", *(f"type_{f}" for f in TYPE_FACTORS),
        *(f"descriptor_x_{b}" for b in DESCRIPTOR_PRODUCT),
        *(f"descriptor_plus_{b}" for b in DESCRIPTOR_SUM),
        *(f"reliability_{g}" for g in RELIABILITY_POWERS))}
    orient_cpu, descriptor_cpu, compared = 0.0, 0.0, 0
    for name in SETS:
        ids = fingers(datasets / "fingerprints" / name / "images")
        recs = {}
        for path in sorted({x for ps in ids.values() for x in ps}):
            gray = decode_fingerprint(path.read_bytes(), max_bytes=EVAL_MAX_BYTES,
                                      max_pixels=EVAL_MAX_PIXELS)
            f = extract(gray, engine.params)
            t = FingerprintTemplate(f.minutiae, gray.shape[1], gray.shape[0],
                                    quality_score(quality_features(f)))
            recs[path] = (t, orientation_grid(f.orientation, f.mask), minutia_descriptors(
                engine.cylinders(t).minutiae, f.orientation, f.mask))
        genuine, impostor = fvc_pairs(ids, all_impostors=True)
        for label, pairs in ((1, genuine), (0, impostor)):
            for a, b in pairs:
                (ta, ga, da), (tb, gb, db) = recs[a], recs[b]
                ca, cb = engine.cylinders(ta), engine.cylinders(tb)
                shipped = Matcher(ta, engine).match(tb)
                start = time.process_time()
                lam = mcc.local_similarities(ca, cb, engine.params)
                s, ii, jj, w = mcc.lss_r_pairs(lam, ca, cb, engine.params)
                o = orientation_scores(ga, gb, ca.minutiae[ii], cb.minutiae[jj], w)
                orient_cpu += time.process_time() - start
                compared += 1
                o.update(others(lam, ca, cb, ga, gb, ii, jj, w, engine))
                o["registered"] = register(ga, gb) if registration else 0.0
                start = time.process_time()
                desc = np.clip(descriptor_similarities(da, db), 0, 1) if lam.size else lam
                descriptor_cpu += time.process_time() - start
                for q in DESCRIPTOR_PRODUCT:
                    o[f"descriptor_x_{q}"] = mcc.lss_r((lam * (1 - q + q * desc)).astype(
                        np.float32), ca, cb, engine.params)
                for q in DESCRIPTOR_SUM:
                    o[f"descriptor_plus_{q}"] = mcc.lss_r(np.where(
                        lam > 0, (1 - q) * lam + q * desc, 0).astype(np.float32), ca, cb,
                        engine.params)
                assert abs(s - shipped) < 1e-9, (a, b, s, shipped)
                for k, v in (("set", name), ("finger_a", int(a.stem.split("_")[0])),
                             ("finger_b", int(b.stem.split("_")[0])), ("genuine", label),
                             ("mcc", shipped), ("cylinders", min(len(ca), len(cb))), *o.items()):
                    cols[k].append(v)
        print(name, file=sys.stderr, flush=True)
    out = {k: np.array(v) for k, v in cols.items()}
    out["cpu_ms_per_comparison"] = np.array(1000 * orient_cpu / max(compared, 1))
    out["descriptor_cpu_ms_per_comparison"] = np.array(1000 * descriptor_cpu / max(compared, 1))
    return out


def others(lam: np.ndarray, ca: mcc.Cylinders, cb: mcc.Cylinders, ga: np.ndarray,
           gb: np.ndarray, ii: np.ndarray, jj: np.ndarray, w: np.ndarray,
           engine: FingerprintEngine) -> dict:
    """The features of the overlap and aligned-LSS variants for one pair."""
    p = engine.params
    out = {"inside": 0, "relaxed": np.pad(w, (0, p.lss_max_np - len(w))),
           "aligned_fitted": 0.0, "aligned_oriented": 0.0,
           **{f"type_{f}": 0.0 for f in TYPE_FACTORS},
           **{f"reliability_{g}": 0.0 for g in RELIABILITY_POWERS}}
    if not len(ii):
        return out
    n_p = mcc.pairs_to_use(*lam.shape, p)
    phi, t = fitted_transform(ca.minutiae[ii], cb.minutiae[jj], w)
    out["inside"] = min(inside(ca.minutiae, gb, phi, t), inside(cb.minutiae, ga, *inverse(phi, t)))
    out["aligned_fitted"] = aligned_lss(lam, ca, cb, phi, t, n_p)
    # the transform of the candidate pair (of LSS-R's 3 n_P) whose fields agree best
    gi, gj = mcc._greedy_pairs(lam, int(min(min(lam.shape), round(p.relax_candidates * n_p))))
    hyps = [pair_transform(ca.minutiae[x], cb.minutiae[y]) for x, y in zip(gi, gj, strict=True)]
    best = max(hyps, key=lambda h: agreement(ga, gb, *h)[0])
    out["aligned_oriented"] = aligned_lss(lam, ca, cb, *best, n_p)
    same = ca.minutiae[:, None, 3] == cb.minutiae[None, :, 3]
    for f in TYPE_FACTORS:
        out[f"type_{f}"] = mcc.lss_r((lam * np.where(same, 1, f)).astype(np.float32), ca, cb, p)
    both = np.sqrt(ca.minutiae[:, None, 4] * cb.minutiae[None, :, 4])
    for g in RELIABILITY_POWERS:
        out[f"reliability_{g}"] = mcc.lss_r((lam * both ** g).astype(np.float32), ca, cb, p)
    return out


def rates(score: np.ndarray, d: dict[str, np.ndarray]) -> dict:
    """Per part: EER per set, pooled EER and FNMR at FMR 1e-3 with its Wilson interval."""
    out = {}
    for part, keep in PARTS.items():
        fingers_in = np.array([int(f) for f in keep])
        m = np.isin(d["finger_a"], fingers_in) & np.isin(d["finger_b"], fingers_in)
        gen = d["genuine"] == 1
        per = {}
        for name in SETS:
            k = m & (d["set"] == name)
            r = error_rates(score[k & gen], score[k & ~gen])
            per[name] = {"eer": round(r.eer, 4), "fnmr_at_fmr_1e-3": r.fnmr_at_fmr["0.001"]}
        r = error_rates(score[m & gen], score[m & ~gen])
        fnmr = r.fnmr_at_fmr["0.001"]
        n = int((m & gen).sum())
        out[part] = {"sets": per, "pooled": {"eer": round(r.eer, 4),
                                             "fnmr_at_fmr_1e-3": round(fnmr, 4),
                                             "wilson_95": wilson(round(fnmr * n), n),
                                             "pairs": [n, int((m & ~gen).sum())]}}
    return out


def variants(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return every fused score measured (weights named; the logistic ones fitted on dev)."""
    s = d["mcc"]
    dev = (d["finger_a"] <= 105) & (d["finger_b"] <= 105)
    out = {"v3 (shipped)": s}
    for w in (0.005, 0.01, 0.02):
        out[f"+ {w} x agreement, fitted alignment"] = s + w * d["fitted"]
        out[f"+ {w} x agreement, best pair's alignment"] = s + w * d["best"]
    for k in (1, 2):
        out[f"x agreement^{k}, best pair's alignment"] = s * d["best"] ** k
    for feats in (("best",), ("fitted", "best")):
        x = np.stack([s * S_SCALE] + [d[f] for f in feats], 1)
        b = logistic_fit(x[dev], d["genuine"][dev])
        out[f"logistic(mcc, {', '.join(feats)}) fitted on dev"] = np.c_[np.ones(len(x)), x] @ b
    for n0 in (10, 20):
        out[f"x min(1, cylinders / {n0})^0.5"] = s * np.minimum(1, d["cylinders"] / n0) ** 0.5
    for o0 in (100, 150):
        out[f"x min(1, overlap cells / {o0})"] = s * np.minimum(1, d["fitted_overlap"] / o0)
    p = FingerprintEngine().params
    whole = np.array([mcc.pairs_to_use(c, c, p) for c in d["cylinders"]])
    z = 1 / (1 + np.exp(-p.lss_tau_p * (d["inside"] - p.lss_mu_p)))
    n_in = np.minimum(whole, np.round(p.lss_min_np + z * (p.lss_max_np - p.lss_min_np)))
    n_in = n_in.astype(int)
    mask = np.arange(p.lss_max_np)[None, :] < n_in[:, None]
    out["n_P from the minutiae inside the overlap"] = (d["relaxed"] * mask).sum(1) / n_in
    for k in ("fitted", "oriented"):
        out[f"aligned LSS, {k} alignment"] = d[f"aligned_{k}"]
        out[f"mean(mcc, aligned LSS, {k} alignment)"] = 0.5 * (s + d[f"aligned_{k}"])
    for f in TYPE_FACTORS:
        out[f"local similarity x {f} when minutia types differ"] = d[f"type_{f}"]
    for g in RELIABILITY_POWERS:
        out[f"local similarity x (reliability_a reliability_b)^{g / 2}"] = d[f"reliability_{g}"]
    for b in DESCRIPTOR_PRODUCT:
        out[f"local similarity x (1 - {b} + {b} x descriptor)"] = d[f"descriptor_x_{b}"]
    for b in DESCRIPTOR_SUM:
        out[f"{1 - b:g} x local similarity + {b} x descriptor"] = d[f"descriptor_plus_{b}"]
    if d["registered"].any():
        out["registered field agreement alone"] = d["registered"]
        for w in (0.005, 0.01, 0.02):
            out[f"+ {w} x registered field agreement"] = s + w * d["registered"]
        x = np.stack([s * S_SCALE, d["registered"]], 1)
        b = logistic_fit(x[dev], d["genuine"][dev])
        out["logistic(mcc, registered) fitted on dev"] = np.c_[np.ones(len(x)), x] @ b
    return out


def main() -> None:
    """Collect the scores once, then measure every fused variant; print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Path("../shared/data"))
    ap.add_argument("--registration", action="store_true",
                    help="also register the orientation fields exhaustively (~7 ms a pair)")
    args = ap.parse_args()
    d = collect(args.datasets, args.registration)
    gen = d["genuine"] == 1
    spread = {k: {"genuine_quartiles": np.round(np.quantile(d[k][gen], [.25, .5, .75]), 3
                                                 ).tolist(),
                  "impostor_quartiles": np.round(np.quantile(d[k][~gen], [.25, .5, .75]), 3
                                                  ).tolist()} for k in ("fitted", "best")}
    # The tails on development: genuine pairs below MCC's FMR 1e-3 threshold, impostors above
    # its FMR 1e-2 threshold, and how their fields agree
    dev = (d["finger_a"] <= 105) & (d["finger_b"] <= 105)
    cut = error_rates(d["mcc"][dev & gen], d["mcc"][dev & ~gen]).thresholds
    low_gen = dev & gen & (d["mcc"] < cut["fmr_1e-3"])
    high_imp = dev & ~gen & (d["mcc"] >= cut["fmr_1e-2"])
    tails = {name: {k: {"pairs": int(m.sum()),
                        "quartiles": np.round(np.quantile(d[k][m], [.25, .5, .75]), 3).tolist()}
                    for k in ("fitted", "best", "registered")}
             for name, m in (("genuine_below_fmr_1e-3", low_gen),
                             ("impostors_above_fmr_1e-2", high_imp))}
    out = {"orientation_cpu_ms_per_comparison": round(float(d["cpu_ms_per_comparison"]), 3),
           "descriptor_cpu_ms_per_comparison": round(
               float(d["descriptor_cpu_ms_per_comparison"]), 3),
           "agreement_spread": spread, "development_tails": tails,
           "variants": {name: rates(v, d) for name, v in variants(d).items()}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
