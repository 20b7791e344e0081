"""Auto-capture: grab frames until the face quality gate passes, or keep the best at timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from devices.base import Camera
from devices.exceptions import CaptureTimeout, DeviceError

# A frame that passes is taken at once; otherwise the frame that failed the fewest checks
# (then the highest quality) is returned when the time is up, with its verdict, so the
# operator sees what to fix.
DEFAULT_TIMEOUT_S = 10.0
# At most this many frames are judged (about 10 s of a 30 fps camera): a source that keeps
# sending the same failing picture (a folder of one photo) stops instead of spinning.
DEFAULT_MAX_FRAMES = 300


@dataclass(frozen=True)
class AutoCapture:
    """The chosen frame, its analysis, and how many frames were looked at."""

    frame: np.ndarray
    analysis: Any  # matching.face.FaceAnalysis
    frames_seen: int
    passed: bool


def _rank(analysis: Any) -> tuple[int, float]:
    """Sort key: fewer failed checks first, then higher quality."""
    quality = analysis.template.quality if analysis.template is not None else 0.0
    return (len(analysis.verdict.reasons), -quality)


def auto_capture(camera: Camera, engine: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_frames: int = DEFAULT_MAX_FRAMES,
                 on_frame: Callable[[Any], None] | None = None) -> AutoCapture:
    """Grab frames until one passes the gate, ``timeout_s`` runs out or ``max_frames`` seen."""
    deadline = time.monotonic() + timeout_s
    best: tuple[np.ndarray, Any] | None = None
    seen = 0
    while time.monotonic() < deadline and seen < max_frames:
        try:
            frame = camera.grab(timeout_s=max(0.1, deadline - time.monotonic()))
        except CaptureTimeout:
            break
        seen += 1
        analysis = engine.analyze(frame)
        if on_frame is not None:
            on_frame(analysis)
        if analysis.template is not None:
            return AutoCapture(frame, analysis, seen, True)
        if best is None or _rank(analysis) < _rank(best[1]):
            best = (frame, analysis)
    if best is None:
        raise CaptureTimeout(f"no frame arrived within {timeout_s}s")
    return AutoCapture(best[0], best[1], seen, False)


__all__ = ["AutoCapture", "DeviceError", "auto_capture"]
