"""Fingerprint readers through libfprint 2 (Debian ``libfprint-2-2``, ``gir1.2-fprint-2.0``).

libfprint drives many USB readers; only those whose driver hands out images can be used
here (image drivers such as the AuthenTec, UPEK/Validity-older, Elan and Goodix-MOC families
that libfprint lists as imaging devices; match-on-chip readers never release an image).
The calls run in a helper process under the system Python, which has PyGObject.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import numpy as np

from devices.base import FINGER_TIMEOUT_S, Managed
from devices.exceptions import (
    CaptureTimeout,
    DeviceBusy,
    DeviceError,
    DeviceNotConnected,
)

HELPER = Path(__file__).resolve().parent / "_fprint_helper.py"
SYSTEM_PYTHON = "/usr/bin/python3"
# libfprint reports 0 pixels/mm when a driver does not know; 500 ppi is the reader norm.
DEFAULT_PPI = 500
START_TIMEOUT_S = 15.0
ERRORS = {"device_not_connected": DeviceNotConnected, "capture_timeout": CaptureTimeout,
          "device_busy": DeviceBusy}


class LibfprintScanner(Managed):
    """The first libfprint reader that can capture images."""

    def __init__(self, *, python: str = SYSTEM_PYTHON, env: dict[str, str] | None = None):
        super().__init__()
        self.python = python
        self.env = env
        self.resolution_ppi = DEFAULT_PPI
        self.name: str | None = None
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()

    def _reply(self, timeout_s: float) -> dict:
        """Return the helper's next JSON line (raise CaptureTimeout when it stays silent)."""
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty as exc:
            raise CaptureTimeout(f"the reader did not answer within {timeout_s:.0f}s") from exc
        if line is None:
            raise DeviceNotConnected("the libfprint helper exited")
        msg = json.loads(line)
        if "error" in msg:
            raise ERRORS.get(msg["error"], DeviceError)(msg.get("message", msg["error"]))
        return msg

    def _pump(self) -> None:
        """Move the helper's stdout into the queue: JSON lines, and raw pixels after them."""
        out = self._proc.stdout
        while line := out.readline():
            msg = json.loads(line)
            if "bytes" in msg:
                msg["data"] = out.read(msg["bytes"]).hex()
            self._lines.put(json.dumps(msg))
        self._lines.put(None)

    def open(self) -> None:
        """Start the helper and open the reader; raise DeviceNotConnected when absent."""
        if not Path(self.python).exists():
            raise DeviceNotConnected(f"{self.python} not found (needs the system python3-gi)")
        self._proc = subprocess.Popen([self.python, str(HELPER)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env={**os.environ, **(self.env or {})})
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            hello = self._reply(START_TIMEOUT_S)
        except DeviceError:
            self.close()
            raise
        self.name = f"{hello['driver']}: {hello['name']}"

    def capture(self, timeout_s: float = FINGER_TIMEOUT_S) -> np.ndarray:
        """Return one impression as an HxW uint8 array."""
        if self._proc is None:
            raise DeviceNotConnected("the reader is not open")
        self._claim()
        try:
            self._proc.stdin.write(f"capture {timeout_s}\n".encode())
            self._proc.stdin.flush()
            msg = self._reply(timeout_s + 5.0)
        finally:
            self._release()
        if msg["ppmm"] > 0:
            self.resolution_ppi = round(msg["ppmm"] * 25.4)
        pixels = np.frombuffer(bytes.fromhex(msg["data"]), np.uint8)
        return pixels.reshape(msg["height"], msg["width"])

    def close(self) -> None:
        """Close the reader and stop the helper (idempotent)."""
        if self._proc is None:
            return
        try:
            self._proc.stdin.write(b"close\n")
            self._proc.stdin.flush()
            self._proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
        self._proc = None
