"""Image-generated synthetic fingers for bench/finger_scale.py, cached under /tmp.

    python bench/finger_scale_gen.py --mates 100 --sources 100 --first-seed 80000
    python bench/finger_scale_gen.py --mates 1000 --sources 1000 --first-seed 80000 \
        --sources-from 200000 --workers 2

Mates: first impressions (enrolled) and second impressions (probes) of master prints from
``first_seed``, kept only when the first impression passes the station's gate; sources:
first impressions of other masters (``first_seed + 1000`` on, or ``--sources-from``: it must
lie beyond every mate's seed), spliced into fillers. ``--workers`` analyses impressions in
that many processes (the same output, in seed order).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
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


def cache_path(first_seed: int, mates: int, sources: int, sources_from: int | None = None
               ) -> Path:
    """Return where a generated set is cached."""
    tail = "" if sources_from is None else f"_{sources_from}"
    return CACHE / f"fingers_{first_seed}_{mates}_{sources}{tail}.pkl"


def _mate(seed: int) -> tuple[bytes, bytes, bool] | None:
    """Return (enrolled, probe, probe gated) template bytes of a master, None when its first
    impression fails the gate."""
    engine = FingerprintEngine()
    a = engine.analyze(impression(master_print(seed), 1))
    if not passes_gate(a):
        return None
    p = engine.analyze(impression(master_print(seed), 2))
    return a.template.to_bytes(), p.template.to_bytes(), passes_gate(p)


def _source(seed: int) -> bytes | None:
    """Return a gated first impression's template bytes, None when it fails the gate."""
    a = FingerprintEngine().analyze(impression(master_print(seed), 1))
    return a.template.to_bytes() if passes_gate(a) else None


def _take(fn, first: int, wanted: int, workers: int) -> tuple[list, int]:  # noqa: ANN001
    """Return the first ``wanted`` non-None results of ``fn`` over seeds from ``first`` (in
    seed order) and how many seeds were tried."""
    seeds = itertools.count(first)
    got, tried = [], 0
    if workers <= 1:
        for s in seeds:
            tried += 1
            r = fn(s)
            if r is not None:
                got.append(r)
                if len(got) == wanted:
                    break
        return got, tried
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for r in pool.imap(fn, seeds, chunksize=4):
            tried += 1
            if r is not None:
                got.append(r)
                if len(got) == wanted:
                    break
        pool.terminate()
    return got, tried


def generate(first_seed: int, mates: int, sources: int, sources_from: int | None = None,
             workers: int = 1) -> dict:
    """Return (and cache) mates, their probes and filler sources (template bytes)."""
    path = cache_path(first_seed, mates, sources, sources_from)
    if path.exists():
        return pickle.loads(path.read_bytes())
    made, tried = _take(_mate, first_seed, mates, workers)
    start = first_seed + 1000 if sources_from is None else sources_from
    if start < first_seed + tried:
        raise SystemExit(f"sources from seed {start} overlap the mates' seeds "
                         f"({first_seed}..{first_seed + tried - 1}): pass --sources-from")
    srcs, _ = _take(_source, start, sources, workers)
    out = {"mates": [m[0] for m in made], "probes": [m[1] for m in made],
           "probe_gated": [m[2] for m in made], "sources": srcs, "tried": tried}
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def main() -> None:
    """Generate and cache."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--first-seed", type=int, default=80_000)
    ap.add_argument("--mates", type=int, default=100)
    ap.add_argument("--sources", type=int, default=100)
    ap.add_argument("--sources-from", type=int, default=None,
                    help="first seed of the filler sources (default first seed + 1000)")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    out = generate(a.first_seed, a.mates, a.sources, a.sources_from, a.workers)
    print(a.first_seed, len(out["mates"]), len(out["sources"]), "tried", out["tried"])


if __name__ == "__main__":
    main()
