"""The benchmark gallery seeder writes guards the service then finds like real enrolments."""

from sqlalchemy import func, select

from biometrics.gallery import FaceGallery
from biometrics.models import Biometric
from fixtures.gallery_seed import seed_face_gallery
from fixtures.synthetic_embeddings import gallery
from registry.models import Guard


def test_seeded_guards_are_searchable(runtime):
    with runtime.sessions() as s:
        assert seed_face_gallery(s, runtime.vault, 120, seed=3) == 120
        assert s.scalar(select(func.count()).select_from(Guard)) == 120
        assert s.scalar(select(func.count()).select_from(Biometric)) == 120
        g = FaceGallery()
        assert g.catch_up(s, runtime.vault) == 120
        probe = gallery(120, probes=1, seed=3).vectors[17]
        hits = g.search(probe, threshold=0.99, k=3)
        assert hits and hits[0].score > 0.999 and hits[0].guard_id == 18
        guard = s.get(Guard, hits[0].guard_id)
        assert guard.name == f"合成{hits[0].guard_id}"


def test_a_guard_registered_after_the_seed_gets_a_fresh_id(runtime, client, keys):
    """The seed inserts explicit ids; PostgreSQL's sequence must move past them, or the next
    registration collides with seeded guard 1 (a 500 instead of 201)."""
    from tests.api.conftest import new_id
    from tests.helpers import auth

    with runtime.sessions() as s:
        seed_face_gallery(s, runtime.vault, 5, seed=4)
    r = client.post("/guards", headers=auth(keys["admin"]),
                    json={"name": "保安新", "id_number": new_id(91), "district": "和平区"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == 6
