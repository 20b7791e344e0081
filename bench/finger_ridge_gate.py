"""Does the fingerprint gate refuse what is not a fingerprint, and keep every real print?

    OPENBLAS_NUM_THREADS=1 python bench/finger_ridge_gate.py [--datasets ../shared/data]

Runs the station's finger gate (enrollment/fingers.judge) over every FVC impression under
<datasets>/fingerprints/*/images (real sensor prints: the false-rejection rate of the ridge
check, which must stay ~0) and over the face photos under <datasets>/faces (samples and
LFW: each should be refused with finger_no_ridges). Prints JSON: per set, how many images,
how many the ridge check refused, and the smallest ridge share and block count seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enrollment.fingers import judge  # noqa: E402
from matching.exceptions import ImageError  # noqa: E402
from matching.finger import FingerprintEngine, decode_fingerprint  # noqa: E402

MAX_BYTES, MAX_PIXELS = 15 * 1024 * 1024, 40_000_000  # the server's default upload limits
IMAGE_SUFFIXES = {".tif", ".png", ".jpg", ".jpeg", ".bmp"}


def verdicts(engine: FingerprintEngine, paths: list[Path]) -> dict:
    """Return how the gate judged ``paths``: counts and the lowest ridge evidence."""
    refused, unreadable, shares, blocks = 0, 0, [], []
    for path in paths:
        try:
            gray = decode_fingerprint(path.read_bytes(), max_bytes=MAX_BYTES,
                                      max_pixels=MAX_PIXELS)
            result = engine.analyze(gray)
        except ImageError:
            unreadable += 1  # no print area, or not an image the reader path takes
            continue
        shares.append(result.features["ridges"])
        blocks.append(result.features["ridge_blocks"])
        codes = {r["code"] for r in judge(result, min_quality=0)}
        refused += "finger_no_ridges" in codes
    judged = len(paths) - unreadable
    return {"images": len(paths), "refused_before_extraction": unreadable,
            "refused_no_ridges": refused, "rate_no_ridges": round(refused / max(1, judged), 4),
            "min_share": round(min(shares), 3) if shares else None,
            "min_blocks": int(min(blocks)) if blocks else None}


def main() -> int:
    """Run the gate over the FVC prints and the face photos; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--faces", type=int, default=200, help="LFW photos (sorted, first N)")
    args = parser.parse_args()
    engine = FingerprintEngine()
    prints = sorted(args.datasets.glob("fingerprints/*/images/*"))
    samples = sorted(p for p in (args.datasets / "faces" / "samples").glob("*")
                     if p.suffix.lower() in IMAGE_SUFFIXES)
    lfw = sorted((args.datasets / "faces" / "lfw-dev" / "images").glob("*/*.jpg"))
    out = {"fvc": verdicts(engine, prints),
           "faces": verdicts(engine, samples + lfw[::max(1, len(lfw) // args.faces)])}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
