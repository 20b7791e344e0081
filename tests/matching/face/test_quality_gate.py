"""Each quality reason, produced by a real image variant and the real dlib models."""

import math

import cv2
import numpy as np
import pytest
from skimage import data

from matching.exceptions import ImageError, QualityError
from matching.face.quality import POSE_MODEL, head_yaw


def _rotate(im, degrees):
    h, w = im.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(im, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def _closed_eyes(engine, im):
    """Paint skin-coloured lids with a lash line over both eyes."""
    result = engine.analyze(im)
    m = engine.models
    shape = m.landmarks(im, m.dlib.rectangle(*result.box))
    pts = np.array([(p.x, p.y) for p in shape.parts()])
    out = im.copy()
    skin = im[int(pts[29][1]), int(pts[29][0])].tolist()
    for eye in (pts[36:42], pts[42:48]):
        cx, cy = eye.mean(axis=0)
        w = np.ptp(eye[:, 0])
        cv2.ellipse(out, (int(cx), int(cy)), (int(w * 0.75), int(w * 0.45)), 0, 0, 360, skin, -1)
        cv2.line(out, (int(cx - w * 0.6), int(cy + 2)), (int(cx + w * 0.6), int(cy + 2)),
                 (60, 40, 40), 2)
    return out


VARIANTS = {
    "face_too_small": lambda e, big: data.astronaut(),
    "too_blurry": lambda e, big: cv2.GaussianBlur(big, (0, 0), 4),
    "too_dark": lambda e, big: (big * 0.2).astype(np.uint8),
    "too_bright": lambda e, big: np.clip(big.astype(int) * 1.4 + 40, 0, 255).astype(np.uint8),
    "low_contrast": lambda e, big: (big * 0.15 + 150).astype(np.uint8),
    "pose_roll": lambda e, big: _rotate(big, 12),
    "multiple_faces": lambda e, big: np.hstack([big, big]),
    "no_face": lambda e, big: np.full((600, 600, 3), 128, np.uint8),
    "eyes_not_visible": _closed_eyes,
}


def test_the_reference_photo_passes(face_engine, astronaut_big):
    result = face_engine.analyze(astronaut_big)
    assert result.verdict.passed and result.template is not None
    assert result.verdict.measures["inter_eye_px"] > 60
    assert 0 < result.template.quality <= 100


@pytest.mark.parametrize("code", sorted(VARIANTS))
def test_each_reason(face_engine, astronaut_big, code):
    image = np.ascontiguousarray(VARIANTS[code](face_engine, astronaut_big))
    result = face_engine.analyze(image)
    codes = [r.code for r in result.verdict.reasons]
    assert code in codes and result.template is None
    reason = next(r for r in result.verdict.reasons if r.code == code)
    assert reason.advice  # tells the operator what to fix
    with pytest.raises(QualityError) as err:
        face_engine.template(image)
    assert code in [d["code"] for d in err.value.details]


def test_dominant_option_takes_the_largest_face(face_engine, astronaut_big):
    x0, y0, x1, y1 = face_engine.analyze(astronaut_big).box
    crop = astronaut_big[max(0, y0 - 120):y1 + 120, max(0, x0 - 80):x1 + 80]
    small = cv2.resize(crop, None, fx=0.8, fy=0.8)
    pad = np.full((crop.shape[0], small.shape[1], 3), 255, np.uint8)
    pad[:small.shape[0]] = small
    scene = np.ascontiguousarray(np.hstack([crop, pad]))
    assert face_engine.analyze(scene).verdict.reasons[0].code == "multiple_faces"
    result = face_engine.analyze(scene, dominant=True)
    assert result.faces_found == 2 and result.template is not None
    assert result.box[2] <= crop.shape[1]  # the larger face, on the left


def test_yaw_estimate_follows_a_known_head_rotation():
    for true_yaw in (-30.0, 0.0, 20.0):
        a = math.radians(true_yaw)
        rot = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        pts3 = POSE_MODEL @ rot.T + np.array([0, 0, 1500.0])
        f, c = 800.0, (400.0, 300.0)
        proj = np.stack([f * pts3[:, 0] / pts3[:, 2] + c[0],
                         -f * pts3[:, 1] / pts3[:, 2] + c[1]], axis=1)
        points = np.zeros((68, 2))
        points[[30, 8, 36, 45, 48, 54]] = proj
        assert abs(abs(head_yaw(points, (600, 800))) - abs(true_yaw)) < 4.0


def test_turned_head_in_a_real_photo(face_engine, datasets):
    from matching.imageio import decode

    raw = (datasets / "faces" / "samples" / "obama2.jpg").read_bytes()
    result = face_engine.analyze(decode(raw, max_bytes=10**8, max_pixels=10**8).pixels)
    assert [r.code for r in result.verdict.reasons] == ["pose_yaw"]


def test_not_an_rgb_array(face_engine):
    with pytest.raises(ImageError):
        face_engine.analyze(np.zeros((10, 10, 4), np.uint8))


def _face_crop(face_engine, astronaut_big):
    """The astronaut's head and shoulders from the 1024-px reference photo."""
    x0, y0, x1, y1 = face_engine.analyze(astronaut_big).box
    return astronaut_big[max(0, y0 - 150):y1 + 150, max(0, x0 - 120):x1 + 120]


def test_dominant_coarse_pass_skips_a_small_bystander(face_engine, astronaut_big):
    crop = _face_crop(face_engine, astronaut_big)
    scene = np.full((crop.shape[0], crop.shape[1] * 2, 3), 255, np.uint8)
    scene[:, :crop.shape[1]] = crop
    small = cv2.resize(crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    scene[:small.shape[0], crop.shape[1]:crop.shape[1] + small.shape[1]] = small
    assert face_engine.analyze(scene).faces_found == 2  # the full pass sees the bystander
    result = face_engine.analyze(scene, dominant=True)
    assert result.faces_found == 1 and result.template is not None  # the coarse pass did not
    alone = face_engine.analyze(np.ascontiguousarray(crop)).template
    assert float(result.template.vector @ alone.vector) > 0.99


def test_dominant_falls_back_to_the_full_pass_for_a_small_face(face_engine, astronaut_big):
    small = cv2.resize(_face_crop(face_engine, astronaut_big), None, fx=0.75, fy=0.75,
                       interpolation=cv2.INTER_AREA)
    scene = np.full((1400, 1400, 3), 255, np.uint8)
    scene[:small.shape[0], :small.shape[1]] = small
    assert face_engine._detect_at(scene, face_engine.params.coarse_detect_side, grey=True) == []
    result = face_engine.analyze(scene, dominant=True)
    assert result.template is not None and result.box == face_engine.analyze(scene).box


SAMPLE_PHOTOS = ["obama-720p.jpg", "obama-1080p.jpg", "obama.jpg", "obama3.jpg", "biden.jpg",
                 "two_people.jpg", "32bit.png"]


def test_grey_coarse_pass_finds_the_colour_boxes(face_engine, astronaut_big, datasets_or_none):
    from matching.imageio import decode

    side = face_engine.params.coarse_detect_side
    samples = datasets_or_none / "faces" / "samples" if datasets_or_none else None
    photos = [astronaut_big] + [
        decode((samples / name).read_bytes(), max_bytes=10**8, max_pixels=10**8).pixels
        for name in (SAMPLE_PHOTOS if samples else [])]
    for photo in photos:
        grey = face_engine._detect_at(photo, side, grey=True)
        colour = face_engine._detect_at(photo, side)
        assert grey and [r for r, _ in grey] == [r for r, _ in colour]
        assert all(s > 0.7 for _, s in grey)  # well above min_detection_score
