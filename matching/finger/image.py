"""Fingerprint image input: PNG, BMP, TIFF, JPEG and WSQ, grey, resampled to 500 ppi."""

from __future__ import annotations

import cv2
import numpy as np

from matching.exceptions import ImageError
from matching.imageio import ALLOWED_FORMATS, decode

# The resolution every stage is tuned for (ISO/IEC 19794-4 and FBI scanners: 500 ppi).
TARGET_PPI = 500
# A stated resolution outside this range is a mistake, not a scanner.
MIN_PPI, MAX_PPI = 250, 1500
FINGER_FORMATS = ALLOWED_FORMATS | {"WSQ"}
# Longest side (px at 500 ppi) of an impression: 41 cm, beyond any ten-print card; OpenCV's
# remap (ridge-period stage) also takes no image side of 32,767 px or more.
MAX_SIDE_PX = 8192


def _register_wsq() -> None:
    """Make Pillow read WSQ (the plugin registers itself on import)."""
    import wsq  # noqa: F401


def decode_fingerprint(data: bytes, *, max_bytes: int, max_pixels: int,
                       ppi: int | None = None) -> np.ndarray:
    """Return a grey uint8 impression at 500 ppi; ``ppi`` overrides what the file states."""
    _register_wsq()
    img = decode(data, max_bytes=max_bytes, max_pixels=max_pixels, mode="gray",
                 allowed=FINGER_FORMATS)
    if ppi is None:
        # Files from generic tools state 72 or 96 dpi; only a scanner-like value is trusted.
        stated = round(img.dpi[0]) if img.dpi else TARGET_PPI
        ppi = stated if MIN_PPI <= stated <= MAX_PPI else TARGET_PPI
    gray = resample(img.pixels, ppi)
    if max(gray.shape) > MAX_SIDE_PX:
        raise ImageError(f"a fingerprint image of {gray.shape[1]}x{gray.shape[0]} px at 500 ppi "
                         f"is larger than any finger (limit {MAX_SIDE_PX} px a side)",
                         code="image_too_large")
    return gray


def resample(gray: np.ndarray, ppi: int) -> np.ndarray:
    """Return ``gray`` rescaled from ``ppi`` to 500 ppi; refuse implausible resolutions."""
    if not MIN_PPI <= ppi <= MAX_PPI:
        raise ImageError(f"a fingerprint at {ppi} ppi cannot be matched (expected 250-1500)",
                         code="image_unsupported")
    if ppi == TARGET_PPI:
        return np.ascontiguousarray(gray)
    scale = TARGET_PPI / ppi
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, size, interpolation=interp)
