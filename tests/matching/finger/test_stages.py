"""Each extraction stage on synthetic and real impressions, and hostile input."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from matching.exceptions import ImageError
from matching.finger import decode_fingerprint
from matching.finger.extract import (
    enhance,
    extract,
    frequency,
    normalise,
    orientation,
    segment,
)
from matching.finger.params import FingerParams
from tests.matching.finger.conftest import read

P = FingerParams()
LIMITS = {"max_bytes": 20_000_000, "max_pixels": 20_000_000}


def test_segmentation_finds_the_contact_area(synthetic):
    img = synthetic[(0, 0)]
    mask = segment(normalise(img), P)
    ridges_dark = img < 160
    assert 0.35 < mask.mean() < 0.95
    # foreground is where the ridges are; the blank border is background
    assert ridges_dark[mask].mean() > 5 * max(ridges_dark[~mask].mean(), 0.01)


def test_orientation_and_frequency_on_synthetic(synthetic):
    img = synthetic[(1, 0)]
    norm = normalise(img)
    mask = segment(norm, P)
    theta, coherence = orientation(norm, P)
    assert theta.min() >= 0 and theta.max() < np.pi
    assert coherence[mask].mean() > 0.6 > coherence[~mask].mean()
    assert 7.5 < frequency(norm, theta, mask, P) < 11.0  # the generator draws 8.1-9.9 px


def test_enhancement_is_what_makes_noisy_impressions_match(monkeypatch):
    """Two noisy impressions of one finger match with Gabor enhancement and mostly do not
    without it (binarising the normalised image instead)."""
    import matching.finger.extract as fx
    from fixtures.synthetic_fingers import impression, master_print
    from matching.finger import FingerprintEngine, Matcher

    engine = FingerprintEngine()
    pairs = [(impression(master_print(510 + f), 1, noise=0.2),
              impression(master_print(510 + f), 2, noise=0.2)) for f in range(4)]
    enhanced = [Matcher(engine.extract(a)).match(engine.extract(b)) for a, b in pairs]
    monkeypatch.setattr(fx, "enhance", lambda norm, theta, period, mask, p: np.where(
        mask, norm, 0))
    raw = [Matcher(engine.extract(a)).match(engine.extract(b)) for a, b in pairs]
    assert np.mean(enhanced) > 3 * np.mean(raw)
    assert min(enhanced) > 0.1


def test_real_impression_stages(fvc):
    f = extract(read(fvc / "101_1.tif"), P)
    assert 6 < f.period < 14 and 0.1 < f.mask.mean() < 0.9
    assert 15 <= len(f.minutiae) <= P.max_minutiae
    x, y = f.minutiae[:, 0].astype(int), f.minutiae[:, 1].astype(int)
    assert f.mask[y, x].all()  # every minutia inside the print


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "JPEG", "WSQ"])
def test_every_format_decodes_to_500ppi_grey(synthetic, fmt):
    import wsq  # noqa: F401  (registers the WSQ codec with Pillow)

    img = synthetic[(0, 1)]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    gray = decode_fingerprint(buf.getvalue(), **LIMITS)
    assert gray.shape == img.shape and gray.dtype == np.uint8
    if fmt in ("PNG", "BMP", "TIFF"):
        assert np.array_equal(gray, img)
    else:  # lossy codecs stay close on this noisy image
        assert np.abs(gray.astype(int) - img).mean() < 20


def test_resolution_is_resampled_to_500ppi(synthetic):
    img = synthetic[(0, 1)]
    ok, png = cv2.imencode(".png", cv2.resize(img, None, fx=2, fy=2))
    gray = decode_fingerprint(png.tobytes(), ppi=1000, **LIMITS)
    assert gray.shape == img.shape
    with pytest.raises(ImageError) as exc:
        decode_fingerprint(png.tobytes(), ppi=96, **LIMITS)
    assert exc.value.code == "image_unsupported"


@pytest.mark.parametrize(("data", "code"), [
    (b"not an image at all", "image_unreadable"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image_unreadable"),
])
def test_hostile_bytes(data, code):
    with pytest.raises(ImageError) as exc:
        decode_fingerprint(data, **LIMITS)
    assert exc.value.code == code


def test_blank_and_noise_images_have_no_fingerprint_area():
    blank = np.full((400, 320), 230, np.uint8)
    with pytest.raises(ImageError) as exc:
        extract(blank, P)
    assert exc.value.code == "no_fingerprint_area"
    with pytest.raises(ImageError):
        extract(np.zeros((400, 320, 3), np.uint8), P)


def test_oversized_image_is_refused_from_its_header(synthetic):
    ok, png = cv2.imencode(".png", np.zeros((3000, 3000), np.uint8))
    with pytest.raises(ImageError) as exc:
        decode_fingerprint(png.tobytes(), max_bytes=10**8, max_pixels=1_000_000)
    assert exc.value.code == "image_too_large"


def _enhance_whole_image(norm, theta, period, mask, p):
    """The definition: every orientation's Gabor filter over the whole image, then picked."""
    n = p.gabor_orientations
    index = np.round(theta / np.pi * n).astype(np.int32) % n
    out = np.zeros_like(norm)
    for k in range(n):
        kern = cv2.getGaborKernel((p.gabor_kernel, p.gabor_kernel), p.gabor_sigma,
                                  k * np.pi / n + np.pi / 2, period, 1.0, 0, ktype=cv2.CV_32F)
        kern -= kern.mean()
        out[index == k] = cv2.filter2D(norm, cv2.CV_32F, kern)[index == k]
    return np.where(mask, out, 0)


def test_boxed_gabor_filtering_equals_whole_image_filtering(synthetic, datasets_or_none):
    images = [synthetic[(0, 0)], synthetic[(1, 0)]]
    if datasets_or_none is not None:
        images += [read(p) for p in sorted((datasets_or_none / "fingerprints").rglob("*.tif"))[:3]]
    for img in images:
        norm = normalise(img)
        mask = segment(norm, P)
        theta, _ = orientation(norm, P)
        period = frequency(norm, theta, mask, P)
        fast = enhance(norm, theta, period, mask, P)
        assert np.abs(fast - _enhance_whole_image(norm, theta, period, mask, P)).max() < 1e-4
        assert (fast != 0).mean() > 0.05  # the test compares real responses, not zeros
