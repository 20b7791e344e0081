"""Time and memory of loading a finger index snapshot (``FingerIndex.from_bytes``, what a
restart does before it replays the tail) and of one build, for this code and, with ``--tree``,
another checkout (e.g. the code before) on the same synthetic fingers.

    python bench/finger_index_load.py --fingers 200000 --mode lsh
    python bench/finger_index_load.py --fingers 200000 --mode lsh --tree /tmp/before

Synthetic fingers: 40 minutiae and 24 random codes (8% of bits set) each, 10 positions; the
snapshot bytes are made once, then loaded ``--repeat`` times (the best time is printed) and once
more under tracemalloc: the memory the loaded index holds (NumPy buffers and Python objects;
RSS growth would under-count here, as the build's freed pages are reused).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path


def main() -> None:
    """Build, snapshot, load; print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingers", type=int, default=200_000)
    ap.add_argument("--mode", default="lsh")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    a = ap.parse_args()
    sys.path.insert(0, str(a.tree))
    import numpy as np

    from matching.finger import FingerprintTemplate
    from matching.finger.index import FingerIndex

    rng, n = np.random.default_rng(9), a.fingers
    idx = FingerIndex(mode=a.mode)
    ts = [FingerprintTemplate(rng.uniform(30, 270, (40, 5)).astype(np.float32), 300, 400, 70.0)
          for _ in range(n)]
    packed = [np.packbits(rng.random((24, idx.bits)) < 0.08, axis=1) for _ in range(n)]
    t0 = time.perf_counter()
    idx.add(list(range(1, n + 1)), ts, positions=[1 + k % 10 for k in range(n)], packed=packed)
    build = time.perf_counter() - t0
    blob = idx.to_bytes(0)
    del idx, ts, packed
    gc.collect()
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        back, _ = FingerIndex.from_bytes(blob)
        times.append(time.perf_counter() - t0)
        del back
        gc.collect()
    tracemalloc.start()
    back, _ = FingerIndex.from_bytes(blob)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(json.dumps({"tree": str(a.tree), "mode": a.mode, "fingers": n,
                      "build_s": round(build, 2), "snapshot_mb": round(len(blob) / 2 ** 20, 1),
                      "load_s": round(min(times), 2),
                      "held_bytes_per_finger": round(held / n)}))


if __name__ == "__main__":
    main()
