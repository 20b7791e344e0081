"""Folder-backed devices for demos and tests: each capture returns the next image file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from devices.base import FINGER_TIMEOUT_S, FRAME_TIMEOUT_S, Managed
from devices.exceptions import CaptureTimeout, DeviceNotConnected

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class _FolderSource(Managed):
    """Cycles through the images of a folder in name order."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = Path(folder)
        self.files: list[Path] = []
        self.position = 0

    def open(self) -> None:
        """List the folder's images; raise DeviceNotConnected when there are none."""
        if not self.folder.is_dir():
            raise DeviceNotConnected(f"folder {self.folder} does not exist")
        self.files = sorted(p for p in self.folder.iterdir()
                            if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise DeviceNotConnected(f"folder {self.folder} holds no images")

    def close(self) -> None:
        """Nothing to release."""
        self.files = []

    def _next(self, flags: int) -> np.ndarray:
        """Return the next readable image."""
        if not self.files:
            raise DeviceNotConnected("the folder device is not open")
        for _ in range(len(self.files)):
            path = self.files[self.position % len(self.files)]
            self.position += 1
            img = cv2.imread(str(path), flags)
            if img is not None:
                return img
        raise CaptureTimeout(f"no readable image in {self.folder}")


class FolderCamera(_FolderSource):
    """A camera whose frames are the photos in a folder."""

    def grab(self, timeout_s: float = FRAME_TIMEOUT_S) -> np.ndarray:
        """Return the next photo as RGB."""
        return cv2.cvtColor(self._next(cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class FolderScanner(_FolderSource):
    """A fingerprint reader whose impressions are the images in a folder."""

    def __init__(self, folder: Path, resolution_ppi: int = 500):
        super().__init__(folder)
        self.resolution_ppi = resolution_ppi

    def capture(self, timeout_s: float = FINGER_TIMEOUT_S) -> np.ndarray:
        """Return the next impression as grey."""
        return self._next(cv2.IMREAD_GRAYSCALE)
