"""Evaluate the fingerprint engine on an FVC-style folder with the FVC protocol.

Layout: files named ``<finger>_<impression>.<ext>`` in one folder (FVC's own), or one
sub-folder per finger. FVC protocol: every pair of impressions of the same finger is a
genuine pair; impostor pairs compare the first impression of each finger with the first of
every other finger. ``all_impostors`` adds every impression of different fingers, for a
finer FMR (the output says which was used).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import numpy as np

from matching.exceptions import ImageError
from matching.finger.engine import FingerprintEngine, Matcher
from matching.finger.image import decode_fingerprint
from matching.finger.params import MODEL_ID
from matching.finger.template import FingerprintTemplate
from matching.metrics import error_rates

SUFFIXES = {".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg", ".wsq"}
FVC_NAME = re.compile(r"^(?P<finger>[^_]+)_(?P<impression>\d+)$")
EVAL_MAX_BYTES = 50 * 1024 * 1024
EVAL_MAX_PIXELS = 20_000_000
FAILED_SCORE = -1.0  # a pair touching a failure to enrol counts as a non-match


def fingers(root: Path) -> dict[str, list[Path]]:
    """Return {finger: impressions in order} from FVC file names or per-finger folders."""
    out: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        m = FVC_NAME.match(path.stem)
        key = m["finger"] if m and path.parent == root else path.parent.name
        out.setdefault(key, []).append(path)
    for paths in out.values():
        paths.sort(key=lambda p: int(m["impression"]) if (m := FVC_NAME.match(p.stem))
                   else 0)
    return {k: v for k, v in out.items() if v}


def fvc_pairs(ids: dict[str, list[Path]], *, all_impostors: bool = False
              ) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Return (genuine, impostor) pairs under the FVC protocol."""
    genuine = [pair for paths in ids.values() for pair in itertools.combinations(paths, 2)]
    if all_impostors:
        impostor = [(a, b) for f, g in itertools.combinations(ids, 2)
                    for a in ids[f] for b in ids[g]]
    else:
        impostor = [(ids[f][0], ids[g][0]) for f, g in itertools.combinations(ids, 2)]
    return genuine, impostor


def extract_all(engine: FingerprintEngine, paths: list[Path], ppi: int | None = None
                ) -> tuple[dict[Path, FingerprintTemplate | None], Counter]:
    """Return {path: template or None} and the failure reasons (images read at ``ppi``)."""
    out, reasons = {}, Counter()
    for path in paths:
        try:
            gray = decode_fingerprint(path.read_bytes(), max_bytes=EVAL_MAX_BYTES,
                                      max_pixels=EVAL_MAX_PIXELS, ppi=ppi)
            out[path] = engine.extract(gray)
        except ImageError as exc:
            out[path] = None
            reasons[exc.code] += 1
    return out, reasons


def score(templates: dict[Path, FingerprintTemplate | None], pairs: list[tuple[Path, Path]],
          engine: FingerprintEngine) -> np.ndarray:
    """Return the score of every pair (FAILED_SCORE where a side failed to enrol)."""
    matchers: dict[Path, Matcher] = {}
    out = np.empty(len(pairs))
    for i, (a, b) in enumerate(pairs):
        ta, tb = templates[a], templates[b]
        if ta is None or tb is None:
            out[i] = FAILED_SCORE
            continue
        if a not in matchers:
            matchers[a] = Matcher(ta, engine)
        out[i] = matchers[a].match(tb)
    return out


def evaluate(engine: FingerprintEngine, dataset: Path, *, all_impostors: bool = False,
             ppi: int | None = None) -> dict:
    """Run the FVC protocol and return counts, FTE, EER, FNMR at fixed FMRs, thresholds.

    ``ppi`` is the images' true resolution when their files do not state it (or state it
    wrongly: FVC TIFFs say 1 dpi); they are resampled from it to 500 ppi.
    """
    ids = fingers(dataset)
    genuine, impostor = fvc_pairs(ids, all_impostors=all_impostors)
    paths = sorted({p for paths in ids.values() for p in paths})
    templates, reasons = extract_all(engine, paths, ppi)
    g, i = score(templates, genuine, engine), score(templates, impostor, engine)
    rates = error_rates(g, i)
    failed = sum(t is None for t in templates.values())
    quality = np.array([t.quality for t in templates.values() if t is not None])
    return {
        "model_id": MODEL_ID, "dataset": str(dataset), "fingers": len(ids),
        "images": len(paths), "ppi": ppi, "fte_rate": failed / max(1, len(paths)),
        "fte_reasons": dict(reasons),
        "protocol": "FVC: all genuine pairs; impostors " + (
            "between every impression of different fingers" if all_impostors else
            "between first impressions of different fingers"),
        "mean_quality": round(float(quality.mean()), 1) if len(quality) else None,
        **rates.to_dict(),
        "thresholds": {f"finger_{k}": v for k, v in rates.thresholds.items()},
    }
