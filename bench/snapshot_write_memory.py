"""Memory a gallery snapshot write needs beyond the index itself: Python-traced allocations
(tracemalloc: NumPy's buffers included) while a finger index of ``--fingers`` synthetic
fingers is turned into snapshot plaintext and cut into encryption chunks, for this code and,
with ``--tree``, another checkout (e.g. the code before) in the same way.

    python bench/snapshot_write_memory.py --fingers 20000 --mode lsh --chunk-mib 4
    python bench/snapshot_write_memory.py --fingers 20000 --mode lsh --chunk-mib 4 --tree /work/main
"""

from __future__ import annotations

import argparse
import json
import sys
import tracemalloc
from pathlib import Path


def main() -> None:
    """Build the index, trace the write's plaintext and chunking, print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingers", type=int, default=20_000)
    ap.add_argument("--mode", default="lsh")
    ap.add_argument("--chunk-mib", type=int, default=4)
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    a = ap.parse_args()
    sys.path.insert(0, str(a.tree))
    import numpy as np

    from matching import snapshot
    from matching.finger import FingerprintTemplate
    from matching.finger.index import FingerIndex

    rng, n, chunk = np.random.default_rng(9), a.fingers, a.chunk_mib * 2 ** 20
    idx = FingerIndex(mode=a.mode)
    ts = [FingerprintTemplate(rng.uniform(30, 270, (40, 5)).astype(np.float32), 300, 400, 70.0)
          for _ in range(n)]
    idx.add(list(range(1, n + 1)), ts, positions=[1 + k % 10 for k in range(n)],
            packed=[np.packbits(rng.random((24, idx.bits)) < 0.08, axis=1) for _ in range(n)])
    new = hasattr(snapshot, "pack_parts")
    if new:
        from biometrics.snapshots import _chunks  # imported before tracing starts
    tracemalloc.start()
    if new:  # this code: parts, cut as biometrics/snapshots.py does
        plain = snapshot.pack_parts("g", 0, {}, {"index": idx.to_parts(0), "owners": b"x"})
        size = len(plain)
        for _ in _chunks(plain, chunk):
            pass
    else:  # the code before: joined bytes, sliced into chunks
        inner = idx.to_bytes(0)
        plain = snapshot.pack("g", 0, {}, {"index": inner, "owners": b"x"})
        del inner
        size, view = len(plain), memoryview(plain)
        for i in range(0, size, chunk):
            bytes(view[i:i + chunk])
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"tree": str(a.tree), "mode": a.mode, "fingers": n,
                      "snapshot_mb": round(size / 2 ** 20, 1), "chunk_mib": a.chunk_mib,
                      "write_peak_extra_mb": round(peak / 2 ** 20, 1)}))


if __name__ == "__main__":
    main()
