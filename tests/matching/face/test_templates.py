"""Templates as values: round trip, refusal of malformed bytes, similarity bands."""

import numpy as np
import pytest

from matching.exceptions import TemplateError
from matching.face import FaceTemplate, best_similarity, face_similarity
from matching.imageio import decode

LIMITS = {"max_bytes": 10**8, "max_pixels": 10**8}


def test_round_trip(face_engine, astronaut_big):
    t = face_engine.template(astronaut_big)
    back = FaceTemplate.from_bytes(t.to_bytes())
    assert np.array_equal(back.vector, t.vector) and back.model_id == t.model_id
    assert back.quality == pytest.approx(t.quality)
    assert abs(np.linalg.norm(t.vector) - 1) < 1e-5


@pytest.mark.parametrize("mutate", [
    lambda b: b[:10], lambda b: b"XYZ" + b[3:], lambda b: b[:3] + b"\x09" + b[4:],
    lambda b: b + b"\0\0\0\0", lambda b: b[:-4] + np.float32(np.nan).tobytes()])
def test_malformed_bytes_are_refused(face_engine, astronaut_big, mutate):
    raw = face_engine.template(astronaut_big).to_bytes()
    with pytest.raises(TemplateError):
        FaceTemplate.from_bytes(mutate(raw))


def test_other_models_do_not_compare():
    a = FaceTemplate.from_embedding(np.ones(128))
    b = FaceTemplate.from_embedding(np.ones(128), model_id="another_model")
    with pytest.raises(TemplateError):
        face_similarity(a, b)


def test_same_photo_resized_scores_near_one(face_engine, astronaut_big):
    import cv2

    a = face_engine.template(astronaut_big)
    b = face_engine.template(cv2.resize(astronaut_big, (800, 800)))
    assert face_similarity(a, b) > 0.97


def _sample(datasets, name):
    return decode((datasets / "faces" / "samples" / name).read_bytes(), **LIMITS).pixels


def test_genuine_above_impostor_on_real_photos(face_engine, datasets):
    from matching.face import FaceEngine

    obama = face_engine.template(_sample(datasets, "obama.jpg"))
    obama_hd = face_engine.template(_sample(datasets, "obama-1080p.jpg"))
    partial = face_engine.template(_sample(datasets, "obama_partial_face.jpg"))
    # The enrolment gate refuses this photo (head tilted and turned); compare it leniently.
    assert face_engine.analyze(_sample(datasets, "biden.jpg")).template is None
    biden = FaceEngine(face_engine.params.lenient()).template(_sample(datasets, "biden.jpg"))
    assert face_similarity(obama, obama_hd) > 0.95
    assert face_similarity(obama, partial) > 0.88
    assert face_similarity(obama, biden) < 0.85
    assert best_similarity(obama, [biden, obama_hd]) == face_similarity(obama, obama_hd)


def test_concurrent_requests_share_one_engine_safely(face_engine, astronaut_big):
    """Threads calling one engine (as API requests do) get the same template as a lone call.

    dlib's network keeps its activations in the model object; without the engine's model lock
    this crashed the process or returned mixed-up descriptors.
    """
    from concurrent.futures import ThreadPoolExecutor

    import cv2

    photos = [astronaut_big, cv2.resize(astronaut_big, (800, 800)), astronaut_big[::-1, ::-1]]
    expected = [face_engine.analyze(p).template for p in photos]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: face_engine.analyze(photos[i % 3]).template, range(24)))
    for i, t in enumerate(got):
        want = expected[i % 3]
        assert (t is None) == (want is None)
        if t is not None:
            assert np.array_equal(t.vector, want.vector)
