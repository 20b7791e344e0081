"""Face accuracy on LFW's pairs protocol: guardid and face_recognition side by side, in one
process, on the same decoded images; thresholds calibrated on folds 1-3, reported on 4-6.

    python bench/face_accuracy.py [--datasets ../shared/data] [--workers 2]

face_recognition runs as its README shows (HOG, one upsampling, the first face, 5-point chip);
guardid runs `guardid eval face --gate lenient`'s pipeline (FaceEngine with the lenient gate,
the subject's face). A photo that fails to enrol makes every pair it is in a non-match (ISO/IEC
19795-1's generalised rates). Per fold group (1-3, where the design was chosen; 4-6, unseen;
all six): LFW-protocol accuracy (each fold's threshold chosen on the other five), EER over all
the group's pairs and over the pairs both pipelines scored, photos failed. The thresholds are
calibrated on every pair of photos of the identities in folds 1-3 (folds share no identity)
and reported on those of folds 4-6. Embeddings are cached in var/bench/ (guardid's keyed by a
hash of the engine's code and gate, so a change there recomputes them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching import evaluation  # noqa: E402
from matching.face import DEFAULT_THRESHOLDS, FaceEngine  # noqa: E402
from matching.face.evaluate import FAILED_SCORE  # noqa: E402
from matching.imageio import decode  # noqa: E402
from matching.metrics import error_rates, fmr_at_threshold, fnmr_at_threshold  # noqa: E402
from registry.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {"folds 1-3": (0, 1, 2), "folds 4-6": (3, 4, 5), "all six": (0, 1, 2, 3, 4, 5)}


def face_recognition_vectors(images: list[np.ndarray]) -> list[np.ndarray | None]:
    """face_recognition as its README shows: face_encodings of the first face_locations."""
    import face_recognition

    out = []
    for im in images:
        boxes = face_recognition.face_locations(im)  # HOG, number_of_times_to_upsample=1
        enc = face_recognition.face_encodings(im, boxes[:1]) if boxes else []
        out.append(enc[0] / np.linalg.norm(enc[0]) if len(enc) else None)
    return out


def guardid_vectors(images: list[np.ndarray], workers: int) -> list[np.ndarray | None]:
    """guardid as `guardid eval face --gate lenient` runs it."""
    engine = FaceEngine(Settings().face_params().lenient())
    return [None if a.template is None else a.template.vector
            for a in engine.analyze_batch(images, dominant=True, workers=workers)]


def code_hash() -> str:
    """Return a short hash of the pipeline's code and parameters (the guardid cache key)."""
    h = hashlib.sha256(repr(Settings().face_params().lenient()).encode())
    for name in ("engine", "quality", "resnet", "selection", "template"):
        h.update((ROOT / "matching" / "face" / f"{name}.py").read_bytes())
    return h.hexdigest()[:12]


def cached(name: str, paths: list[Path], compute) -> tuple[dict[Path, np.ndarray | None], float]:
    """Return ({path: vector or None}, seconds) from var/bench/<name>.npz, computing if absent."""
    cache = ROOT / "var" / "bench" / f"{name}.npz"
    if cache.exists():
        data = np.load(cache)
        vecs, ok = data["vectors"], data["ok"]
        return {p: vecs[i] if ok[i] else None for i, p in enumerate(paths)}, float(data["secs"])
    t = time.perf_counter()
    got = compute()
    secs = time.perf_counter() - t
    ok = np.array([v is not None for v in got])
    vecs = np.stack([v if v is not None else np.zeros(128) for v in got]).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=vecs, ok=ok, secs=secs)
    return {p: v for p, v in zip(paths, [vecs[i] if ok[i] else None for i in range(len(paths))],
                                 strict=True)}, secs


def pair_scores(pairs, emb) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (scores, same, scored) for pairs; a failure to enrol scores as a non-match."""
    scored = np.array([emb[p.a] is not None and emb[p.b] is not None for p in pairs])
    s = [float(np.dot(emb[p.a], emb[p.b])) if ok else FAILED_SCORE
         for p, ok in zip(pairs, scored, strict=True)]
    return np.array(s), np.array([p.same for p in pairs]), scored


def group_report(folds, embs: dict[str, dict]) -> dict:
    """Return accuracy, EERs and failures per pipeline and fold group."""
    out: dict = {}
    for group, idx in GROUPS.items():
        pairs = [p for i in idx for p in folds[i]]
        both = np.ones(len(pairs), bool)
        for emb in embs.values():
            both &= pair_scores(pairs, emb)[2]
        for name, emb in embs.items():
            fold_scores = [pair_scores(f, emb)[:2] for f in folds]
            acc = evaluation.cross_validated_accuracy(fold_scores)["folds"]
            s, y, _ = pair_scores(pairs, emb)
            photos = {p.a for p in pairs} | {p.b for p in pairs}
            out.setdefault(group, {})[name] = {
                "photos_failed": sum(emb[p] is None for p in photos),
                "accuracy": round(float(np.mean([acc[i] for i in idx])), 4),
                "eer": round(error_rates(s[y], s[~y]).eer, 4),
                "eer_pairs_all_scored": round(error_rates(s[y & both], s[~y & both]).eer, 4),
                "pairs_all_scored": int(both.sum())}
    return out


def identity_pairs(folds, idx, emb) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (scores, same, scored) over every pair of photos of the folds' identities."""
    photos = sorted({q for i in idx for p in folds[i] for q in (p.a, p.b)})
    names = np.array([p.parent.name for p in photos])
    ok = np.array([emb[p] is not None for p in photos])
    vecs = np.stack([emb[p] if emb[p] is not None else np.zeros(128, np.float32)
                     for p in photos])
    i, j = np.triu_indices(len(photos), k=1)
    scored = ok[i] & ok[j]
    scores = np.where(scored, np.einsum("ij,ij->i", vecs[i], vecs[j]), FAILED_SCORE)
    return scores, names[i] == names[j], scored


def calibration_report(folds, emb) -> dict:
    """Calibrate on folds 1-3's identities; report FNMR/FMR there and on folds 4-6's."""
    train = identity_pairs(folds, GROUPS["folds 1-3"], emb)
    test = identity_pairs(folds, GROUPS["folds 4-6"], emb)
    cal = evaluation.calibrate(*train, prefix="face_")
    out = {"pairs_1_3": {"genuine": int(train[1].sum()), "impostor": int((~train[1]).sum())},
           "pairs_4_6": {"genuine": int(test[1].sum()), "impostor": int((~test[1]).sum())}}
    for label, thresholds in (("calibrated_on_1_3", cal.thresholds),
                              ("shipped", DEFAULT_THRESHOLDS)):
        out[label] = {}
        for name, t in thresholds.items():
            if t is None:
                continue
            row = {"threshold": round(t, 4)}
            for part, (s, y, _) in (("1_3", train), ("4_6", test)):
                row[f"fnmr_{part}"] = round(fnmr_at_threshold(s[y], t), 4)
                row[f"fmr_{part}"] = fmr_at_threshold(s[~y], t)
            out[label][name] = row
    return out


def main() -> None:
    """Embed the pairs' photos with both pipelines and print the JSON report."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Settings().datasets)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    lfw = args.datasets / "faces" / "lfw-dev"
    folds = evaluation.read_lfw_pairs(lfw / "pairs.txt", lfw / "images")
    paths = sorted({q for f in folds for p in f for q in (p.a, p.b)})
    images: list[np.ndarray] = []

    def decoded() -> list[np.ndarray]:
        if not images:
            images.extend(decode(p.read_bytes(), max_bytes=10**8, max_pixels=10**8).pixels
                          for p in paths)
        return images

    fr, fr_s = cached("lfw_pairs_face_recognition", paths,
                      lambda: face_recognition_vectors(decoded()))
    ours, ours_s = cached(f"lfw_pairs_guardid_{code_hash()}", paths,
                          lambda: guardid_vectors(decoded(), args.workers))
    embs = {"face_recognition": fr, "guardid": ours}
    print(json.dumps({"photos": len(paths), "pairs": sum(len(f) for f in folds),
                      "seconds": {"face_recognition_1_process": round(fr_s),
                                  f"guardid_{args.workers}_processes": round(ours_s)},
                      "groups": group_report(folds, embs),
                      "thresholds": calibration_report(folds, ours)}, indent=2))


if __name__ == "__main__":
    main()
