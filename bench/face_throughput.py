"""Photo -> template throughput: guardid's face engine against face_recognition's own
face_locations + face_encodings, on the same files, one core each, same accuracy check.

    python bench/face_throughput.py [--datasets ../shared/data] [--lfw 100]

Station-size photos: the samples' 720p/1080p/full-size Obama photos and LFW photos upscaled
to 1024x1024 (>= 1 MP); dataset size: LFW's own 150x150 files.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.face import FaceEngine  # noqa: E402
from matching.imageio import decode  # noqa: E402
from registry.settings import Settings  # noqa: E402


def load(path: Path) -> np.ndarray:
    """Decode a file to RGB."""
    return decode(path.read_bytes(), max_bytes=10**8, max_pixels=10**8).pixels


def ours(engine: FaceEngine, image: np.ndarray, **kw) -> np.ndarray | None:
    """guardid: detect on a small copy, landmarks + embedding at full resolution."""
    result = engine.analyze(image, dominant=True, **kw)
    return None if result.template is None else result.template.vector


def theirs(image: np.ndarray) -> np.ndarray | None:
    """face_recognition as its README shows it (HOG, upsample 1, then encodings)."""
    import face_recognition

    boxes = face_recognition.face_locations(image)
    if not boxes:
        return None
    largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
    enc = face_recognition.face_encodings(image, [largest])[0]
    return enc / np.linalg.norm(enc)


def timed(fn, images: list[np.ndarray]) -> tuple[float, float, list]:
    """Return (images per second, CPU ms per image, outputs) for fn, after a warm-up call.

    The CPU time (this process's, one BLAS thread) is the figure to compare on a busy machine.
    """
    fn(images[0])
    t, c = time.perf_counter(), time.process_time()
    out = [fn(im) for im in images]
    cpu_ms = 1000 * (time.process_time() - c) / len(images)
    return len(images) / (time.perf_counter() - t), cpu_ms, out


def main() -> None:
    """Measure both pipelines on each set and print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Settings().datasets)
    ap.add_argument("--lfw", type=int, default=100)
    args = ap.parse_args()
    samples = args.datasets / "faces" / "samples"
    lfw = sorted((args.datasets / "faces" / "lfw-dev" / "images").glob("*/*.jpg"))[:args.lfw]
    lfw_imgs = [load(p) for p in lfw]
    sets = {
        "lfw_150px": lfw_imgs,
        "lfw_upscaled_1024px": [cv2.resize(im, (1024, 1024), interpolation=cv2.INTER_CUBIC)
                                for im in lfw_imgs[:40]],
        "obama_720p_1080p_full": [load(samples / n) for n in
                                  ("obama-720p.jpg", "obama-1080p.jpg", "obama.jpg")] * 4,
    }
    engine = FaceEngine(FaceEngine().params.lenient())
    engine.warm_up()
    report = {}
    # guardid's probe path (spot checks, exam doors: the probe gate, no mirror image).
    probe = {"probe": True} if "probe" in inspect.signature(engine.analyze).parameters else {}
    for name, images in sets.items():
        q_ours, c_ours, a = timed(lambda im: ours(engine, im), images)
        q_probe, c_probe, _ = timed(lambda im: ours(engine, im, **probe), images)
        q_theirs, c_theirs, b = timed(theirs, images)
        both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        report[name] = {
            "images": len(images), "megapixels": round(images[0].size / 3 / 1e6, 2),
            "guardid_per_s": round(q_ours, 2), "face_recognition_per_s": round(q_theirs, 2),
            "guardid_probe_per_s": round(q_probe, 2),
            "cpu_ms": {"guardid": round(c_ours, 1), "guardid_probe": round(c_probe, 1),
                       "face_recognition": round(c_theirs, 1)},
            "speedup": round(q_ours / q_theirs, 2),
            "found_guardid": sum(x is not None for x in a),
            "found_face_recognition": sum(y is not None for y in b),
            "embedding_cosine_min": round(min(float(np.dot(x, y)) for x, y in both), 4)
            if both else None}
        print(json.dumps({name: report[name]}), flush=True)


if __name__ == "__main__":
    main()
