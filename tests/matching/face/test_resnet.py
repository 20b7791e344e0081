"""The numpy port of dlib's face ResNet gives dlib's own embeddings, chip for chip."""

from __future__ import annotations

import dlib
import face_recognition_models as frm
import numpy as np
import pytest

from matching.exceptions import TemplateError
from matching.face import resnet
from matching.face.engine import CHIP_PADDING, CHIP_SIZE

# float32 sums in another order: dlib's and the port's outputs (norm ~1.4) agree to ~4e-7.
MAX_ABS_DIFF = 1e-5
LFW_PEOPLE = 12


@pytest.fixture(scope="module")
def weights() -> resnet.ResNetWeights:
    """The port's weights, read from the shipped model file."""
    return resnet.load(frm.face_recognition_model_location())


@pytest.fixture(scope="module")
def dlib_encoder():
    """dlib's own network on the same file, the reference."""
    return dlib.face_recognition_model_v1(frm.face_recognition_model_location())


def _chip(face_engine, rgb: np.ndarray) -> np.ndarray:
    """Return dlib's aligned 150x150 chip of the largest face in ``rgb``."""
    m = face_engine.models
    rect = max(face_engine._detect(rgb), key=lambda f: f[0].area())[0]
    return m.dlib.get_face_chip(rgb, m.landmarks(rgb, rect), size=CHIP_SIZE,
                                padding=CHIP_PADDING)


def _chips(face_engine, astronaut_big, datasets_or_none) -> list[np.ndarray]:
    """Real face chips (astronaut, LFW when present) and two synthetic extremes."""
    import cv2

    astro = _chip(face_engine, astronaut_big)
    rng = np.random.default_rng(7)
    chips = [astro, astro[:, ::-1].copy(), np.clip(astro * 0.4 + 140, 0, 255).astype(np.uint8),
             rng.integers(0, 256, (CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8),
             np.zeros((CHIP_SIZE, CHIP_SIZE, 3), np.uint8)]
    if datasets_or_none is not None:
        folders = sorted((datasets_or_none / "faces" / "lfw-dev" / "images").glob("*"))
        for folder in folders[:LFW_PEOPLE]:
            path = sorted(folder.glob("*.jpg"))[0]
            rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            if face_engine._detect(cv2.resize(rgb, (500, 500))):
                chips.append(_chip(face_engine, cv2.resize(rgb, (500, 500))))
    return chips


def test_port_equals_dlib(weights, dlib_encoder, face_engine, astronaut_big, datasets_or_none):
    chips = _chips(face_engine, astronaut_big, datasets_or_none)
    ours = resnet.embed(weights, np.stack(chips))
    for chip, mine in zip(chips, ours, strict=True):
        theirs = np.asarray(dlib_encoder.compute_face_descriptor(chip, 0))
        assert np.abs(mine - theirs).max() < MAX_ABS_DIFF
    # one chip alone gives what it gave in the batch
    assert np.abs(resnet.embed(weights, chips[0])[0] - ours[0]).max() < MAX_ABS_DIFF


def test_different_faces_differ(weights, face_engine, astronaut_big):
    astro = _chip(face_engine, astronaut_big)
    noise = np.random.default_rng(1).integers(0, 256, astro.shape, dtype=np.uint8)
    a, b = resnet.embed(weights, np.stack([astro, noise]))
    assert np.linalg.norm(a - b) > 0.6  # dlib's own same-person distance limit


@pytest.mark.parametrize("cut", [10, 5_000, 1_000_000])
def test_truncated_or_foreign_model_files_are_refused(tmp_path, cut):
    data = open(frm.face_recognition_model_location(), "rb").read()
    bad = tmp_path / "bad.dat"
    bad.write_bytes(data[:cut])
    with pytest.raises(TemplateError):
        resnet.load(str(bad))
    bad.write_bytes(open(frm.pose_predictor_model_location(), "rb").read())
    with pytest.raises(TemplateError):
        resnet.load(str(bad))


def test_chips_of_the_wrong_shape_are_refused(weights):
    with pytest.raises(TemplateError):
        resnet.embed(weights, np.zeros((100, 100, 3), np.uint8))
