"""Impressions whose resolution is not 500 ppi are read at their true resolution: an option of
`guardid eval finger` and of the station/reader path (GUARDID_FINGER_READER_PPI)."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from biometrics.probes import LocalProbes
from enrollment.fingers import analyse
from matching.finger import Matcher
from matching.finger.params import load_thresholds
from registry.settings import Settings
from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS
from tests.matching.face.test_face_cli import guardid

READER_PPI = 569  # e.g. a 569 dpi optical reader
LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 4_000_000}


def at_569ppi(gray: np.ndarray) -> bytes:
    """The impression resampled from 500 to 569 ppi, as a TIFF stating 1 dpi (as FVC's do)."""
    scale = READER_PPI / 500
    size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
    out = io.BytesIO()
    Image.fromarray(cv2.resize(gray, size, interpolation=cv2.INTER_CUBIC)).save(
        out, format="TIFF", dpi=(1, 1))
    return out.getvalue()


def test_station_reads_a_569ppi_impression_at_its_resolution(synthetic, finger_engine):
    original = finger_engine.extract(synthetic[(0, 0)])
    data = at_569ppi(synthetic[(0, 0)])
    true = analyse(finger_engine, data, position=1, ppi=READER_PPI, **LIMITS).template
    stated = analyse(finger_engine, data, position=1, **LIMITS).template  # "1 dpi": 500 assumed
    assert (true.width, true.height) == (original.width, original.height)
    # Read at its true resolution it matches its original (~0.96); read as 500 ppi (what the
    # file's "1 dpi" leaves) every distance is 14% too long and it scores like a borderline
    # impostor (~0.075, about the synthetic FMR 1e-3 threshold).
    cut = load_thresholds(str(SYNTHETIC_FINGER_THRESHOLDS))["finger_fmr_1e-3"]
    matcher = Matcher(original, finger_engine)
    assert matcher.match(true) >= cut and matcher.match(stated) < matcher.match(true) / 5


def test_spot_check_probe_is_read_at_the_reader_resolution(synthetic, finger_engine):
    probes = LocalProbes(face=None, finger=finger_engine)
    probe = probes.finger_probe(at_569ppi(synthetic[(1, 0)]), position=2, ppi=READER_PPI,
                                **LIMITS)
    assert (probe.template.width, probe.template.height) == synthetic[(1, 0)].shape[::-1]


def test_reader_resolution_setting_refuses_implausible_values():
    assert Settings(finger_reader_ppi=569).finger_reader_ppi == 569
    with pytest.raises(ValidationError):
        Settings(finger_reader_ppi=1)


def test_eval_finger_takes_the_true_resolution(synthetic, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    for (f, i), img in synthetic.items():
        if f < 3 and i < 2:
            (folder / f"{f + 1}_{i + 1}.tif").write_bytes(at_569ppi(img))
    proc = guardid("eval", "finger", "--dataset", folder, "--ppi", str(READER_PPI), "--json",
                   tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["ppi"] == READER_PPI and r["genuine_pairs"] == 3 and r["fte_rate"] == 0
    assert r["eer"] == 0
