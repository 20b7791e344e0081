"""Image-generated synthetic fingers for bench/finger_scale.py, cached under /tmp.

    python bench/finger_scale_gen.py --mates 100 --sources 100 --first-seed 80000

Mates: first impressions (enrolled) and second impressions (probes) of master prints from
``first_seed``, kept only when the first impression passes the station's gate; sources:
first impressions of other masters (``first_seed + 1000`` on), spliced into fillers.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from enrollment.fingers import judge  # noqa: E402
from fixtures.synthetic_fingers import impression, master_print  # noqa: E402
from matching.finger import FingerprintEngine  # noqa: E402
from registry.settings import Settings  # noqa: E402

CACHE = Path("/tmp/guardid_finger_scale")
MIN_QUALITY = Settings().finger_min_quality  # the station gate's default


def passes_gate(analysis) -> bool:  # noqa: ANN001
    """Whether a station keeps this impression (its shipped gate, default settings)."""
    return not judge(analysis, min_quality=MIN_QUALITY)


def cache_path(first_seed: int, mates: int, sources: int) -> Path:
    """Return where a generated set is cached."""
    return CACHE / f"fingers_{first_seed}_{mates}_{sources}.pkl"


def generate(first_seed: int, mates: int, sources: int) -> dict:
    """Return (and cache) mates, their probes and filler sources (template bytes)."""
    path = cache_path(first_seed, mates, sources)
    if path.exists():
        return pickle.loads(path.read_bytes())
    engine = FingerprintEngine()
    out: dict = {"mates": [], "probes": [], "sources": [], "probe_gated": [], "tried": 0}
    seed = first_seed
    while len(out["mates"]) < mates:
        a = engine.analyze(impression(master_print(seed), 1))
        out["tried"] += 1
        if passes_gate(a):
            p = engine.analyze(impression(master_print(seed), 2))
            out["mates"].append(a.template.to_bytes())
            out["probes"].append(p.template.to_bytes())
            out["probe_gated"].append(passes_gate(p))
        seed += 1
    seed = first_seed + 1000
    while len(out["sources"]) < sources:
        a = engine.analyze(impression(master_print(seed), 1))
        if passes_gate(a):
            out["sources"].append(a.template.to_bytes())
        seed += 1
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def main() -> None:
    """Generate and cache."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--first-seed", type=int, default=80_000)
    ap.add_argument("--mates", type=int, default=100)
    ap.add_argument("--sources", type=int, default=100)
    a = ap.parse_args()
    out = generate(a.first_seed, a.mates, a.sources)
    print(a.first_seed, len(out["mates"]), len(out["sources"]), "tried", out["tried"])


if __name__ == "__main__":
    main()
