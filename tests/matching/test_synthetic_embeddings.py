"""The synthetic gallery reproduces the measured spread of real dlib embeddings."""

import numpy as np
import pytest

from fixtures.synthetic_embeddings import GENUINE_MEAN, IMPOSTOR_MEAN, gallery, similarity_spread


def test_spread_matches_the_measured_means_and_is_seeded():
    g = gallery(8000, per_identity=4, probes=50, seed=3)
    spread = similarity_spread(g.vectors, g.identity)
    assert spread["genuine_mean"] == pytest.approx(GENUINE_MEAN, abs=0.01)
    assert spread["impostor_mean"] == pytest.approx(IMPOSTOR_MEAN, abs=0.01)
    assert 0.01 < spread["genuine_std"] < 0.03 and 0.025 < spread["impostor_std"] < 0.05
    assert np.allclose(np.linalg.norm(g.vectors, axis=1), 1, atol=1e-5)
    again = gallery(8000, per_identity=4, probes=50, seed=3)
    assert np.array_equal(g.vectors, again.vectors)


def test_probes_are_mated_like_real_photos():
    from matching.index import FaceIndex

    g = gallery(1000, probes=200, seed=4)
    mate = np.einsum("ij,ij->i", g.probes, g.vectors[g.probe_identity])
    assert mate.mean() == pytest.approx(GENUINE_MEAN, abs=0.01)
    index = FaceIndex()
    index.add(np.arange(len(g.vectors)), g.vectors)
    top = [r[0].id for r in index.search(g.probes, k=1)]
    # Real dlib embeddings identify well in a small gallery and degrade with size (a 20k
    # gallery gives ~60% rank-1): the generator reproduces the small-gallery end.
    assert np.mean(g.identity[top] == g.probe_identity) > 0.9
