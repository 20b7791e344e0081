"""Probe photos: large JPEGs decoded at reduced scale, and the full decode when it matters."""

import cv2
import numpy as np
import pytest

from matching.exceptions import QualityError
from matching.face.engine import CHIP_INTER_EYE_PX
from matching.imageio import decode
from tests.matching.conftest import encode

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}


def _head(engine, astronaut_big):
    """The astronaut's head and shoulders from the 1024-px reference photo."""
    x0, y0, x1, y1 = engine.analyze(astronaut_big).box
    return astronaut_big[max(0, y0 - 150):y1 + 150, max(0, x0 - 120):x1 + 120]


def _full(engine, data):
    """The probe template of the subject's face with the photo decoded in full (the
    reference)."""
    return engine.template(decode(data, **LIMITS).pixels, dominant=True, probe=True)


def test_a_large_photo_is_decoded_at_reduced_scale(face_engine, astronaut_big):
    data = encode(cv2.resize(astronaut_big, (3072, 3072), interpolation=cv2.INTER_CUBIC))
    reduced = decode(data, min_side=face_engine.params.probe_decode_side, **LIMITS)
    assert reduced.scale == 2 and reduced.pixels.shape == (1536, 1536, 3)
    got = face_engine.probe_template(data, **LIMITS)
    # It is the reduced decode's template, with the face size in the photo's own pixels ...
    expect = face_engine.analyze(reduced.pixels, dominant=True, pixel_scale=2,
                                 probe=True).template
    assert np.array_equal(got.vector, expect.vector)
    full = _full(face_engine, data)
    assert got.measures["inter_eye_px"] / 2 >= CHIP_INTER_EYE_PX
    assert got.measures["inter_eye_px"] == pytest.approx(full.measures["inter_eye_px"], rel=0.03)
    # ... and the model sees the same face: the full decode's template within 0.995.
    assert float(got.vector @ full.vector) > 0.995


def _at(engine, data, max_scale):
    """The template probe_template should return: the face found at the first, reduced
    decode, its template taken from the decode at ``max_scale``."""
    side = engine.params.probe_decode_side
    first = decode(data, min_side=side, **LIMITS)
    found = engine.analyze(first.pixels, dominant=True, pixel_scale=first.scale, probe=True)
    image = decode(data, min_side=side, max_scale=max_scale, **LIMITS)
    box = tuple(v // image.scale for v in found.box)  # found.box is in the photo's pixels
    return first, found, image, engine.analyze(image.pixels, dominant=True,
                                               pixel_scale=image.scale, face=box,
                                               probe=True).template


def test_a_face_too_small_for_the_chip_is_decoded_in_full(face_engine, astronaut_big):
    scene = np.full((1000, 1700, 3), 255, np.uint8)
    head = _head(face_engine, astronaut_big)
    scene[:head.shape[0], :head.shape[1]] = head
    data = encode(scene)
    first, found, image, expect = _at(face_engine, data, 1)
    assert first.scale == 2 and found.verdict.measures["inter_eye_px"] / 2 < CHIP_INTER_EYE_PX
    assert image.scale == 1 and expect.measures["inter_eye_px"] >= CHIP_INTER_EYE_PX
    got = face_engine.probe_template(data, **LIMITS)
    assert np.array_equal(got.vector, expect.vector)
    assert float(got.vector @ _full(face_engine, data).vector) > 0.999


def test_a_face_needing_a_finer_scale_gets_that_scale(face_engine, astronaut_big):
    head = cv2.resize(_head(face_engine, astronaut_big), None, fx=1.75, fy=1.75,
                      interpolation=cv2.INTER_CUBIC)
    scene = np.full((2000, 3400, 3), 255, np.uint8)
    scene[:head.shape[0], :head.shape[1]] = head
    data = encode(scene)
    first, found, image, expect = _at(face_engine, data, 2)
    assert first.scale == 4 and found.verdict.measures["inter_eye_px"] / 4 < CHIP_INTER_EYE_PX
    assert image.scale == 2 and expect.measures["inter_eye_px"] / 2 >= CHIP_INTER_EYE_PX
    got = face_engine.probe_template(data, **LIMITS)
    assert np.array_equal(got.vector, expect.vector)
    assert float(got.vector @ _full(face_engine, data).vector) > 0.995


def test_a_refusal_is_the_full_decodes_refusal(face_engine, astronaut_big):
    big = cv2.resize(astronaut_big, (3072, 3072), interpolation=cv2.INTER_CUBIC)
    data = encode(cv2.GaussianBlur(big, (0, 0), 12))
    with pytest.raises(QualityError) as reduced:
        face_engine.probe_template(data, **LIMITS)
    with pytest.raises(QualityError) as full:
        _full(face_engine, data)
    assert reduced.value.details == full.value.details
    assert "too_blurry" in [d["code"] for d in reduced.value.details]


def test_small_photos_and_other_formats_decode_in_full(face_engine, astronaut_big):
    side = face_engine.params.probe_decode_side
    assert decode(encode(astronaut_big), min_side=side, **LIMITS).scale == 1  # < 2 x side
    big = cv2.resize(astronaut_big, (2048, 2048))
    assert decode(encode(big, ".png"), min_side=side, **LIMITS).scale == 1
    got = face_engine.probe_template(encode(astronaut_big), **LIMITS)
    assert np.array_equal(got.vector, _full(face_engine, encode(astronaut_big)).vector)
