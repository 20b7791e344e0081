"""Which face is the subject (photos with several faces), the CNN fallback, mirror templates."""

import cv2
import numpy as np
import pytest

from matching.face import DEFAULT_THRESHOLDS, FaceEngine, FaceParams
from matching.face.selection import Box, subject
from matching.imageio import decode

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}
THRESHOLD = DEFAULT_THRESHOLDS["face_fmr_1e-3"]


@pytest.fixture(scope="module")
def lenient() -> FaceEngine:
    """The engine with the lenient (archival) gate, as `guardid eval face --gate lenient`."""
    return FaceEngine(FaceParams().lenient())


def _photo(datasets, relative):
    path = datasets / "faces" / relative
    if not path.exists():
        pytest.skip(f"{relative} not present")
    return decode(path.read_bytes(), **LIMITS).pixels


def test_a_face_cut_by_the_border_is_not_the_subject():
    """The LFW case of issue 21: a cut background box larger than the centred subject's."""
    boxes = [Box(-15, -8, 43, 49, 0.9), Box(49, 49, 101, 101, 0.8)]
    assert subject(boxes, (150, 150)) == 1


def test_a_larger_face_cut_by_the_frame_loses_to_a_whole_one(face_engine, datasets):
    """two_people.jpg with Obama enlarged and cut by the left edge: Biden is the subject."""
    photo = _photo(datasets, "samples/two_people.jpg")
    h, w = photo.shape[:2]
    big = cv2.resize(photo[:, :w // 2], None, fx=1.35, fy=1.35)
    scene = np.ascontiguousarray(np.hstack([big[:h, int(big.shape[1] * 0.48):],
                                            photo[:, w // 2:]]))
    faces = face_engine._detect(scene)
    assert len(faces) == 2
    cut = min(faces, key=lambda f: f[0].left())[0]
    assert cut.left() < 0 and cut.area() > max(f[0].area() for f in faces if f[0] != cut)
    result = face_engine.analyze(scene, dominant=True)
    assert result.box[0] > scene.shape[1] // 2  # Biden's face, whole, on the right


def _template(engine, image):
    result = engine.analyze(image, dominant=True)
    assert result.template is not None, result.verdict.reasons
    return result.template


def test_an_lfw_photo_with_a_larger_cut_background_face(lenient, datasets):
    """Colin_Farrell_0003: a cut face at (-10,4)-(59,66) is larger than his, centred."""
    photo = _photo(datasets, "lfw-dev/images/Colin_Farrell/Colin_Farrell_0003.jpg")
    faces = lenient._detect(photo)
    assert max(faces, key=lambda f: f[0].area())[0].left() < 0  # the largest box is cut
    other = _template(lenient, _photo(datasets,
                                      "lfw-dev/images/Colin_Farrell/Colin_Farrell_0001.jpg"))
    assert float(_template(lenient, photo).vector @ other.vector) >= THRESHOLD  # 0.79 before


def test_the_cnn_finds_the_face_hog_misses(datasets):
    """Dale_Earnhardt_Jr_0003: HOG finds no face; dlib's CNN does, and it is his."""
    engine = FaceEngine(FaceParams().lenient())
    engine.warm_up()
    assert engine.models._cnn is None  # loaded only when needed
    photo = _photo(datasets, "lfw-dev/images/Dale_Earnhardt_Jr/Dale_Earnhardt_Jr_0003.jpg")
    assert engine._detect_at(photo, engine.params.detect_max_side) == []
    found = _template(engine, photo)
    assert engine.models._cnn is not None
    other = _template(engine, _photo(
        datasets, "lfw-dev/images/Dale_Earnhardt_Jr/Dale_Earnhardt_Jr_0001.jpg"))
    assert float(found.vector @ other.vector) >= THRESHOLD


def test_a_template_embeds_the_chip_and_its_mirror_image(face_engine, astronaut_big):
    """The photo and its mirror image give (nearly) one template: 0.998, one chip 0.990."""
    a = face_engine.template(astronaut_big)
    b = face_engine.template(np.ascontiguousarray(astronaut_big[:, ::-1]))
    assert float(a.vector @ b.vector) > 0.996
