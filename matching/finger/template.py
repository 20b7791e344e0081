"""Fingerprint templates as values: guardid's own bytes, and ISO/IEC 19794-2:2005 records.

guardid bytes ("GFP", version 1): model id, image size, quality, then per minutia x, y
(float32 px), angle (float32 rad), type (uint8) and reliability (uint8, 0-100).

ISO/IEC 19794-2:2005 finger minutiae record: a 24-byte record header ("FMR\\0", " 20\\0",
record length, capture equipment, image size, resolution in pixels/cm, view count), one
finger view (position, view/impression, quality, minutiae count), 6 bytes per minutia
(type in the top two bits of x, 14-bit x and y, angle in units of 360/256 degrees, quality)
and an extended-data block length. Angles there run counter-clockwise from the x axis
with y pointing down the image; guardid's angles run clockwise (image axes), so the
conversion negates them. Directions follow the standard's convention in both (a ridge
ending points into its ridge, a bifurcation into its fork).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from matching.exceptions import TemplateError
from matching.finger.params import MODEL_ID

MAGIC, VERSION = b"GFP", 1
_HEAD = struct.Struct("<3sB16sHHfH")  # magic, version, model, width, height, quality, count
_MINUTIA = np.dtype([("x", "<f4"), ("y", "<f4"), ("a", "<f4"), ("t", "u1"), ("r", "u1")])
MAX_MINUTIAE = 255  # ISO records count minutiae in one byte

ISO_MAGIC, ISO_VERSION = b"FMR\0", b" 20\0"
ISO_TYPES = {1: 0b01, 3: 0b10}  # guardid type (crossing number) -> ISO type bits
ISO_TYPES_BACK = {0b01: 1, 0b10: 3, 0b00: 1}  # "other" read as an ending
PX_PER_CM_500PPI = 197  # 500 ppi in the record's pixels per centimetre


@dataclass(frozen=True, eq=False)
class FingerprintTemplate:
    """Minutiae (x, y, angle, type, reliability) of one impression, with its provenance."""

    minutiae: np.ndarray
    width: int
    height: int
    quality: float
    model_id: str = MODEL_ID
    position: int = 0  # ISO finger position, 0 when unknown

    def to_bytes(self) -> bytes:
        """Serialise to guardid's versioned template bytes."""
        m = np.zeros(len(self.minutiae), _MINUTIA)
        if len(m):
            m["x"], m["y"], m["a"] = self.minutiae[:, 0], self.minutiae[:, 1], self.minutiae[:, 2]
            m["t"] = self.minutiae[:, 3].astype(np.uint8)
            m["r"] = np.clip(np.round(self.minutiae[:, 4] * 100), 0, 100).astype(np.uint8)
        head = _HEAD.pack(MAGIC, VERSION, self.model_id.encode()[:16].ljust(16, b"\0"),
                          self.width, self.height, float(self.quality), len(m))
        return head + m.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FingerprintTemplate:
        """Parse template bytes; raise TemplateError when they are not a valid template."""
        if len(data) < _HEAD.size:
            raise TemplateError("fingerprint template is truncated")
        magic, version, model, width, height, quality, count = _HEAD.unpack_from(data)
        if magic != MAGIC or version != VERSION:
            raise TemplateError("not a guardid fingerprint template (or an unknown version)")
        if len(data) != _HEAD.size + count * _MINUTIA.itemsize:
            raise TemplateError("fingerprint template length does not match its count")
        m = np.frombuffer(data, _MINUTIA, count=count, offset=_HEAD.size)
        arr = np.stack([m["x"], m["y"], m["a"], m["t"].astype(np.float32),
                        m["r"].astype(np.float32) / 100], 1).astype(np.float32)
        if not np.isfinite(arr).all() or not np.isfinite(quality):
            raise TemplateError("fingerprint template holds non-finite values")
        return cls(arr.reshape(count, 5), width, height, float(quality),
                   model.rstrip(b"\0").decode("ascii", "replace"))

    @cached_property
    def digest(self) -> bytes:
        """A stable identity of the template's content (for caches)."""
        import hashlib

        return hashlib.sha256(self.to_bytes()).digest()

    def to_iso19794_2(self, *, position: int | None = None) -> bytes:
        """Encode as an ISO/IEC 19794-2:2005 finger minutiae record (one view, 500 ppi)."""
        m = self.minutiae[np.argsort(-self.minutiae[:, 4], kind="stable")][:MAX_MINUTIAE]
        body = bytearray()
        for x, y, a, t, r in m:
            xi, yi = int(np.clip(round(x), 0, 0x3FFF)), int(np.clip(round(y), 0, 0x3FFF))
            iso_angle = int(round((-a % (2 * np.pi)) / (2 * np.pi) * 256)) % 256
            body += struct.pack(">HHBB", (ISO_TYPES.get(int(t), 0) << 14) | xi, yi,
                                iso_angle, int(np.clip(round(r * 100), 0, 100)))
        pos = self.position if position is None else position
        view = struct.pack(">BBBB", pos, 0, int(np.clip(round(self.quality), 0, 100)), len(m))
        total = 24 + len(view) + len(body) + 2
        header = ISO_MAGIC + ISO_VERSION + struct.pack(
            ">IHHHHHBB", total, 0, self.width, self.height, PX_PER_CM_500PPI,
            PX_PER_CM_500PPI, 1, 0)
        return header + view + bytes(body) + b"\0\0"

    @classmethod
    def from_iso19794_2(cls, data: bytes) -> FingerprintTemplate:
        """Decode the first finger view of an ISO/IEC 19794-2:2005 record (any resolution)."""
        if len(data) < 32 or data[:4] != ISO_MAGIC or data[4:8] != ISO_VERSION:
            raise TemplateError("not an ISO/IEC 19794-2:2005 finger minutiae record")
        total, _, width, height, xres, yres, views, _ = struct.unpack_from(">IHHHHHBB", data, 8)
        if total != len(data) or views < 1 or not xres or not yres:
            raise TemplateError("ISO record length, view count or resolution is invalid")
        pos, _, quality, count = struct.unpack_from(">BBBB", data, 24)
        end = 28 + 6 * count
        if end + 2 > len(data):
            raise TemplateError("ISO record is shorter than its minutiae count says")
        sx, sy = PX_PER_CM_500PPI / xres, PX_PER_CM_500PPI / yres  # rescale to 500 ppi
        rows = []
        for off in range(28, end, 6):
            tx, y, a, q = struct.unpack_from(">HHBB", data, off)
            kind = ISO_TYPES_BACK.get(tx >> 14, 1)
            angle = (-(a / 256) * 2 * np.pi) % (2 * np.pi)
            rows.append(((tx & 0x3FFF) * sx, y * sy, angle, kind, q / 100))
        arr = np.array(rows, np.float32).reshape(-1, 5)
        return cls(arr, round(width * sx), round(height * sy), float(quality), MODEL_ID, pos)
