"""Measure how real dlib embeddings spread (genuine and impostor cosine similarity on LFW), the
numbers fixtures/synthetic_embeddings.py is shaped to.

    python bench/face_accuracy.py          # first: embeds LFW into var/bench/ (cached)
    python bench/measure_embedding_spread.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.synthetic_embeddings import gallery, similarity_spread  # noqa: E402


def main() -> None:
    """Print the spread of real LFW embeddings beside the synthetic generator's."""
    cache = json.loads(Path("var/bench/lfw_embeddings.json").read_text())
    names, vecs = [], []
    for path, v in cache.items():
        if v is not None:
            names.append(Path(path).parent.name)
            vecs.append(v)
    _, identity = np.unique(names, return_inverse=True)
    real = similarity_spread(np.array(vecs, dtype=np.float32), identity, pairs=200_000)
    g = gallery(20_000, per_identity=4, probes=10)
    print(json.dumps({"lfw_real": real, "embeddings": len(vecs),
                      "synthetic": similarity_spread(g.vectors, g.identity, pairs=200_000)},
                     indent=2))


if __name__ == "__main__":
    main()
