"""Probe photo -> template: a full decode against the reduced-scale JPEG decode spot checks use.

    OPENBLAS_NUM_THREADS=1 python bench/probe_photo.py [--datasets ../shared/data] [--lfw 20]

For each set: milliseconds per photo (one core, median) of decoding the file in full and
taking the largest face's template, against FaceEngine.probe_template (large JPEGs decoded at
1/2, 1/4 or 1/8 scale to find the face, then at the coarsest scale that keeps it at chip
size); the scale of that first decode; the cosine between the two templates and how far
apart they put the score against another template of the same person. Phone-size
sets are real photos upscaled to 12 megapixels (the sample set holds none that large): they
measure decoding cost and the scale chosen, not a phone's optics.
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

from matching.exceptions import QualityError  # noqa: E402
from matching.face import FaceEngine  # noqa: E402
from matching.imageio import decode  # noqa: E402
from registry.settings import Settings  # noqa: E402

LIMITS = {"max_bytes": 10**8, "max_pixels": 10**8}


def jpeg(rgb: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    """Return ``rgb`` (resized with cubic interpolation when ``size`` is given) as a JPEG."""
    if size is not None:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def median_ms(fn, data: bytes, repeat: int) -> float:
    """Return the median milliseconds of ``fn(data)`` over ``repeat`` calls after a warm-up."""
    fn(data)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def measure(engine: FaceEngine, photos: list[tuple[bytes, np.ndarray]], repeat: int) -> dict:
    """Return the timings, first scales, cosines and score shifts over (photo, reference)
    pairs: the reference is another template of the same person, as a gallery would hold."""
    def full(data: bytes):
        return engine.template(decode(data, **LIMITS).pixels, dominant=True)

    def reduced(data: bytes):
        return engine.probe_template(data, **LIMITS)

    rows = []
    for data, reference in photos:
        try:
            a, b = full(data), reduced(data)
        except QualityError:
            continue
        scale = decode(data, min_side=engine.params.probe_decode_side, **LIMITS).scale
        rows.append({"full_ms": median_ms(full, data, repeat),
                     "reduced_ms": median_ms(reduced, data, repeat),
                     "first_scale": scale,
                     "cosine": float(a.vector @ b.vector),
                     "shift": abs(float(a.vector @ reference) - float(b.vector @ reference))})
    cos = [r["cosine"] for r in rows]
    if not rows:
        return {"photos": 0}
    return {"photos": len(rows),
            "full_decode_ms_p50": round(float(np.median([r["full_ms"] for r in rows])), 1),
            "probe_template_ms_p50": round(float(np.median([r["reduced_ms"] for r in rows])), 1),
            "first_scale": sorted({r["first_scale"] for r in rows}),
            "cosine_min": round(min(cos), 5), "cosine_median": round(float(np.median(cos)), 5),
            "score_shift_max": round(max(r["shift"] for r in rows), 5),
            "score_shift_median": round(float(np.median([r["shift"] for r in rows])), 5)}


def in_phone_frame(rgb: np.ndarray, zoom: int) -> bytes:
    """Return a 4032x3024 JPEG: ``rgb`` upscaled ``zoom`` times at the centre of a frame that
    stands in for the scene around a guard (skimage's coffee photo, stretched: no face)."""
    from skimage import data

    frame = cv2.resize(data.coffee(), (4032, 3024), interpolation=cv2.INTER_LINEAR)
    face = cv2.resize(rgb, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
    y, x = (3024 - face.shape[0]) // 2, (4032 - face.shape[1]) // 2
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    return jpeg(frame)


def main() -> None:
    """Measure each set and print JSON lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Settings().datasets)
    ap.add_argument("--lfw", type=int, default=20, help="LFW photos in a phone-size frame")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    samples = args.datasets / "faces" / "samples"
    lfw = [decode(p.read_bytes(), **LIMITS).pixels for p in sorted(
        (args.datasets / "faces" / "lfw-dev" / "images").glob("*/*_0001.jpg"))[:args.lfw]]
    obama = decode((samples / "obama-1080p.jpg").read_bytes(), **LIMITS).pixels
    engine = FaceEngine()
    engine.warm_up()
    # Upscaled LFW photos are soft and small-faced: the archival gate (FaceParams.lenient)
    lenient = FaceEngine(engine.params.lenient())
    lenient.warm_up()
    # References: the Obama enrolment photo of bench/inspection_load.py; each LFW photo's own
    # 150 px original (the score a gallery holding that photo would give).
    enrolled = engine.template(decode((samples / "obama.jpg").read_bytes(), **LIMITS).pixels)
    native = [lenient.analyze(im).template for im in lfw]
    lfw = [(im, t.vector) for im, t in zip(lfw, native, strict=True) if t is not None]
    sets = {
        "samples_720p_to_3mp": [((samples / n).read_bytes(), enrolled.vector) for n in
                                ("obama-720p.jpg", "obama-1080p.jpg", "obama.jpg",
                                 "obama3.jpg")],
        "obama_1080p_upscaled_12mp": [(jpeg(obama, (4032, 2268)), enrolled.vector)],
        # LFW faces are ~24 px between the eyes: x6 is ~150 px in the 12 MP frame and x8
        # ~200 (both decoded again at 1/2 after the 1/4 pass), x12 ~290 (1/4 suffices). A
        # face HOG finds at detect_max_side in a 12 MP photo always fits at 1/2.
        **{f"lfw_x{z}_in_12mp_frame": [(in_phone_frame(im, z), ref) for im, ref in lfw]
           for z in (6, 8, 12)},
    }
    for name, photos in sets.items():
        chosen = lenient if name.startswith("lfw") else engine
        print(json.dumps({name: measure(chosen, photos, args.repeat)}), flush=True)


if __name__ == "__main__":
    main()
