"""Decoding every accepted format, colour modes, EXIF orientation and hostile files."""

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from matching.exceptions import ImageError
from matching.imageio import decode

LIMITS = {"max_bytes": 20_000_000, "max_pixels": 30_000_000}


def pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def astro():
    return Image.fromarray(data.astronaut())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF"])
def test_every_format_decodes_to_rgb(astro, fmt):
    out = decode(pil_bytes(astro, fmt), **LIMITS)
    assert out.pixels.shape == (512, 512, 3) and out.pixels.dtype == np.uint8
    assert out.format == fmt
    diff = np.abs(out.pixels.astype(int) - np.asarray(astro, dtype=int)).mean()
    assert diff < (6 if fmt in ("JPEG", "WEBP") else 0.01)


def test_gray_mode_and_dpi(astro):
    out = decode(pil_bytes(astro.convert("L"), "TIFF", dpi=(1000, 1000)), mode="gray", **LIMITS)
    assert out.pixels.shape == (512, 512) and out.dpi == (1000.0, 1000.0)


def test_cmyk_jpeg_converts_to_rgb(astro):
    out = decode(pil_bytes(astro.convert("CMYK"), "JPEG", quality=95), **LIMITS)
    assert np.abs(out.pixels.astype(int) - np.asarray(astro, dtype=int)).mean() < 12


def test_16_bit_png_scales_to_8_bit():
    ramp = (np.arange(256 * 64, dtype=np.uint16).reshape(64, 256) * 4)  # 0..65532
    out = decode(pil_bytes(Image.fromarray(ramp), "PNG"), mode="gray", **LIMITS)
    assert out.pixels.min() == 0 and out.pixels.max() == 255


def test_alpha_is_composited_on_white(astro):
    rgba = astro.convert("RGBA")
    rgba.putalpha(0)  # fully transparent
    out = decode(pil_bytes(rgba, "PNG"), **LIMITS)
    assert (out.pixels == 255).all()


def test_exif_orientation_is_applied(astro):
    wide = astro.resize((400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = decode(pil_bytes(wide, "JPEG", exif=exif.tobytes()), **LIMITS)
    assert out.pixels.shape[:2] == (400, 200)


def test_palette_png(astro):
    out = decode(pil_bytes(astro.convert("P"), "PNG"), **LIMITS)
    assert out.pixels.shape == (512, 512, 3)


@pytest.mark.parametrize("payload", [b"", b"not an image at all", b"\xff\xd8\xff" + b"\0" * 50,
                                     b"GIF89a" + b"\0" * 100])
def test_garbage_is_refused_clearly(payload):
    with pytest.raises(ImageError) as err:
        decode(payload, **LIMITS)
    assert err.value.code in ("image_unreadable", "image_unsupported")


def test_truncated_jpeg_is_refused(astro):
    raw = pil_bytes(astro, "JPEG")
    with pytest.raises(ImageError) as err:
        decode(raw[: len(raw) // 2], **LIMITS)
    assert err.value.code == "image_unreadable"


def test_decompression_bomb_is_refused_from_the_header():
    # 20000 x 20000 pixels of one colour: a few hundred kB of PNG, 1.2 GB decoded.
    bomb = pil_bytes(Image.new("L", (20_000, 20_000)), "PNG", optimize=True)
    assert len(bomb) < 2_000_000
    with pytest.raises(ImageError) as err:
        decode(bomb, **LIMITS)
    assert err.value.code == "image_too_large"


def test_byte_limit(astro):
    with pytest.raises(ImageError) as err:
        decode(pil_bytes(astro, "PNG"), max_bytes=1000, max_pixels=10**9)
    assert err.value.code == "image_too_large"


def test_tiny_image_is_refused():
    with pytest.raises(ImageError) as err:
        decode(pil_bytes(Image.new("RGB", (8, 8)), "PNG"), **LIMITS)
    assert err.value.code == "image_too_small"


def test_reduced_jpeg_decode(astro):
    wide = astro.resize((3200, 1600))
    data = pil_bytes(wide, "JPEG", quality=95)
    full = decode(data, **LIMITS)
    assert full.scale == 1 and full.pixels.shape == (1600, 3200, 3)
    for min_side, scale in ((700, 4), (800, 4), (1000, 2), (1600, 2), (1601, 1), (300, 8)):
        out = decode(data, min_side=min_side, **LIMITS)
        assert out.scale == scale and max(out.pixels.shape) >= min_side
        assert out.pixels.shape == (1600 // scale, 3200 // scale, 3)
        # The DCT-scaled decode is the picture shrunk, not another picture.
        shrunk = np.asarray(Image.fromarray(full.pixels).resize(out.pixels.shape[1::-1],
                                                                Image.BOX), dtype=int)
        assert np.abs(out.pixels.astype(int) - shrunk).mean() < 1.5


def test_reduced_decode_keeps_orientation_and_skips_other_formats(astro):
    wide = astro.resize((2000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = decode(pil_bytes(wide, "JPEG", exif=exif.tobytes()), min_side=500, **LIMITS)
    assert out.scale == 4 and out.pixels.shape[:2] == (500, 250)
    assert decode(pil_bytes(wide, "PNG"), min_side=500, **LIMITS).scale == 1
    assert decode(pil_bytes(wide.convert("CMYK"), "JPEG"), min_side=500,
                  **LIMITS).pixels.shape == (250, 500, 3)
