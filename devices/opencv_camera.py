"""Cameras through OpenCV's VideoCapture: a device index, an RTSP/HTTP URL, or a video file."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from devices.base import FRAME_TIMEOUT_S, Managed
from devices.exceptions import CaptureTimeout, DeviceNotConnected

# Opening an RTSP stream can hang for a long time inside FFmpeg; OpenCV honours these.
OPEN_TIMEOUT_MS = 5000
READ_TIMEOUT_MS = 5000


class OpenCVCamera(Managed):
    """A VideoCapture source; ``loop`` restarts a video file at its end (demos, tests)."""

    def __init__(self, source: int | str | Path, *, loop: bool = False):
        super().__init__()
        self.source = int(source) if isinstance(source, str) and source.isdigit() else source
        self.loop = loop
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        """Open the source; raise DeviceNotConnected when it cannot be opened."""
        src = str(self.source) if isinstance(self.source, Path) else self.source
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS,
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        cap = cv2.VideoCapture(src, cv2.CAP_ANY, params)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotConnected(f"camera {self.source!r} could not be opened")
        self._cap = cap

    def close(self) -> None:
        """Release the capture (idempotent)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _read(self) -> np.ndarray | None:
        """Read one frame (rewinding a looping file at its end); None when none comes."""
        ok, frame = self._cap.read()
        if not ok and self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        return frame if ok else None

    def grab(self, timeout_s: float = FRAME_TIMEOUT_S) -> np.ndarray:
        """Return the next frame as RGB within ``timeout_s``, or raise CaptureTimeout."""
        if self._cap is None:
            raise DeviceNotConnected("the camera is not open")
        self._claim()
        try:
            result: list[np.ndarray | None] = []
            reader = threading.Thread(target=lambda: result.append(self._read()), daemon=True)
            reader.start()
            reader.join(timeout_s)
            if reader.is_alive() or not result or result[0] is None:
                raise CaptureTimeout(f"no frame from camera {self.source!r} in {timeout_s}s")
            return cv2.cvtColor(result[0], cv2.COLOR_BGR2RGB)
        finally:
            self._release()
