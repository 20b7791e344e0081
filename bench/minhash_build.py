"""MinHash band signatures per second: this code against another version of
matching/finger/minhash.py (``--before FILE``, e.g. from ``git show e3af9ac:...``),
in one process on the same codes (sparse, 2-15% of the 384 cells set, as MCC codes).

    git show e3af9ac:matching/finger/minhash.py > /tmp/minhash_old.py
    python bench/minhash_build.py --codes 100000 --before /tmp/minhash_old.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching.finger.index import LSH_BANDS, LSH_PER_BAND, LSH_SEED  # noqa: E402
from matching.finger.minhash import MinHasher  # noqa: E402


def main() -> None:
    """Time both versions on the same codes; check they agree; print JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--codes", type=int, default=100_000)
    ap.add_argument("--before", type=Path, required=True)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("minhash_before", a.before)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    rng = np.random.default_rng(1)
    packed = np.packbits(rng.random((a.codes, 384)) < rng.uniform(0.02, 0.15, (a.codes, 1)),
                         axis=1)
    out = {"codes": a.codes}
    sigs = {}
    for name, cls in (("before", old.MinHasher), ("after", MinHasher)):
        h = cls(384, LSH_BANDS, LSH_PER_BAND, LSH_SEED)
        t = time.process_time()
        sigs[name] = h.signatures(packed)
        out[f"{name}_codes_per_cpu_s"] = round(a.codes / (time.process_time() - t))
    out["identical"] = bool((sigs["before"] == sigs["after"]).all())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
