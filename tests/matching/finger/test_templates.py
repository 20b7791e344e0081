"""Fingerprint templates: guardid bytes and ISO/IEC 19794-2:2005 records, both directions."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from matching.exceptions import TemplateError
from matching.finger import FingerprintTemplate


@pytest.fixture(scope="module")
def template(finger_engine, synthetic):
    return finger_engine.extract(synthetic[(3, 0)], position=7)


def test_bytes_round_trip_exactly(template):
    back = FingerprintTemplate.from_bytes(template.to_bytes())
    assert back.to_bytes() == template.to_bytes()
    assert np.allclose(back.minutiae[:, :4], template.minutiae[:, :4])
    assert (back.width, back.height, back.model_id) == (template.width, template.height,
                                                        template.model_id)


@pytest.mark.parametrize("mutate", [
    lambda b: b[:10], lambda b: b"XYZ" + b[3:], lambda b: b[:3] + b"\x09" + b[4:],
    lambda b: b + b"\0", lambda b: b[:-14] + np.float32(np.nan).tobytes() + b[-10:]])
def test_malformed_bytes_are_refused(template, mutate):
    with pytest.raises(TemplateError):
        FingerprintTemplate.from_bytes(mutate(template.to_bytes()))


def test_iso_record_round_trips(template):
    iso = template.to_iso19794_2()
    assert iso[:8] == b"FMR\0 20\0" and struct.unpack(">I", iso[8:12])[0] == len(iso)
    back = FingerprintTemplate.from_iso19794_2(iso)
    assert back.to_iso19794_2() == iso  # exact once quantised
    assert back.position == 7 and len(back.minutiae) == len(template.minutiae)
    a = template.minutiae[np.lexsort(template.minutiae.T[:2])]
    b = back.minutiae[np.lexsort(back.minutiae.T[:2])]
    assert np.abs(a[:, :2] - b[:, :2]).max() <= 0.5  # integer pixel positions
    turn = np.abs((a[:, 2] - b[:, 2] + np.pi) % (2 * np.pi) - np.pi)
    assert turn.max() <= np.deg2rad(360 / 256)  # the record's angle unit
    assert np.array_equal(a[:, 3], b[:, 3])


def iso_record(minutiae, *, ppcm=394, width=800, height=1000, quality=60, pos=2):
    """An ISO record as another vendor might write it (1000 ppi, 'other' minutia type)."""
    body = b"".join(struct.pack(">HHBB", (t << 14) | x, y, a, q) for x, y, a, t, q in minutiae)
    view = struct.pack(">BBBB", pos, 0, quality, len(minutiae))
    total = 24 + 4 + len(body) + 2
    return (b"FMR\0 20\0" + struct.pack(">IHHHHHBB", total, 0, width, height, ppcm, ppcm, 1, 0)
            + view + body + b"\0\0")


def test_records_written_elsewhere_are_read_at_500ppi():
    rec = iso_record([(400, 600, 64, 0b01, 80), (200, 100, 192, 0b10, 40),
                      (300, 300, 0, 0b00, 0)])
    t = FingerprintTemplate.from_iso19794_2(rec)
    assert (t.width, t.height, t.position) == (400, 500, 2)
    assert np.allclose(t.minutiae[0, :2], [200, 300], atol=0.5)
    assert t.minutiae[0, 2] == pytest.approx(3 * np.pi / 2)  # 90 deg CCW = up the image
    assert list(t.minutiae[:, 3]) == [1, 3, 1]  # "other" is read as an ending


@pytest.mark.parametrize("mutate", [
    lambda r: b"XMR" + r[3:],  # wrong format identifier
    lambda r: r[:-3],  # truncated: length field no longer matches
    lambda r: r[:27] + bytes([200]) + r[28:],  # count larger than the data
    lambda r: r[:18] + b"\0\0" + r[20:],  # zero resolution
])
def test_malformed_iso_records_are_refused(mutate):
    rec = iso_record([(400, 600, 64, 0b01, 80)])
    with pytest.raises(TemplateError):
        FingerprintTemplate.from_iso19794_2(mutate(rec))
