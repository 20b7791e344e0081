"""Fingerprint fixtures: synthetic impressions on a fresh clone, FVC2004 DB1 B when present."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fixtures.synthetic_fingers import impression, master_print
from matching.finger import FingerprintEngine


@pytest.fixture(scope="session")
def finger_engine() -> FingerprintEngine:
    return FingerprintEngine()


@pytest.fixture(scope="session")
def synthetic() -> dict[tuple[int, int], np.ndarray]:
    """Six synthetic fingers x three impressions each, keyed (finger, impression)."""
    return {(f, i): impression(master_print(500 + f), 10 * f + i)
            for f in range(6) for i in range(3)}


@pytest.fixture(scope="session")
def fvc(datasets_or_none) -> Path:
    """The FVC2004 DB1 B images folder; skip with a reason when absent."""
    root = (datasets_or_none / "fingerprints" / "fvc2004-db1b" / "images"
            if datasets_or_none else None)
    if root is None or not root.is_dir():
        pytest.skip("FVC2004 DB1 B not found under GUARDID_DATASETS/fingerprints")
    return root


def read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
