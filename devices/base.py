"""The two device protocols: a camera that grabs RGB frames and a scanner that captures one
fingerprint impression. Both are context managers and every blocking call takes a timeout."""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

import numpy as np

from devices.exceptions import DeviceBusy

# Default waits: a camera frame arrives within ~1 s even over RTSP; a person needs a few
# seconds to place a finger.
FRAME_TIMEOUT_S = 2.0
FINGER_TIMEOUT_S = 15.0


@runtime_checkable
class Camera(Protocol):
    """A source of RGB frames (HxWx3 uint8)."""

    def open(self) -> None:
        """Connect to the device; raise DeviceNotConnected when it is not there."""

    def grab(self, timeout_s: float = FRAME_TIMEOUT_S) -> np.ndarray:
        """Return the next frame; raise CaptureTimeout when none arrives in time."""

    def close(self) -> None:
        """Release the device (idempotent)."""

    def __enter__(self) -> Camera: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class FingerprintScanner(Protocol):
    """A reader that captures one impression as a grey image at a known resolution."""

    resolution_ppi: int

    def open(self) -> None:
        """Connect to the reader; raise DeviceNotConnected when it is not there."""

    def capture(self, timeout_s: float = FINGER_TIMEOUT_S) -> np.ndarray:
        """Return one impression (HxW uint8); raise CaptureTimeout when no finger comes."""

    def close(self) -> None:
        """Release the reader (idempotent)."""

    def __enter__(self) -> FingerprintScanner: ...

    def __exit__(self, *exc: object) -> None: ...


class Managed:
    """Context management and a one-capture-at-a-time guard shared by the drivers."""

    def __init__(self) -> None:
        self._busy = threading.Lock()

    def open(self) -> None:  # pragma: no cover - overridden
        """Connect to the device."""

    def close(self) -> None:  # pragma: no cover - overridden
        """Release the device."""

    def __enter__(self):  # noqa: ANN204
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _claim(self) -> None:
        """Take the device for one capture; raise DeviceBusy when another one runs."""
        if not self._busy.acquire(blocking=False):
            raise DeviceBusy(f"{type(self).__name__} is already capturing")

    def _release(self) -> None:
        self._busy.release()
