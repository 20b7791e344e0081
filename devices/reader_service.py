"""The station's local reader service: lets the station page capture from a USB reader.

A browser cannot talk to a fingerprint reader, so the station agent serves the reader on the
loopback interface: ``POST /capture`` takes one impression and returns it as PNG. Only the
guardid server's own page may call it (CORS is granted to one configured origin, never
``*``): any other web page open in the station's browser is refused, so a stray site cannot
trigger a capture or read an impression. Nothing is stored here; the page uploads the image
to the server, which runs the quality gate.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import cv2

from devices.base import FINGER_TIMEOUT_S
from devices.exceptions import CaptureTimeout, DeviceBusy, DeviceError, DeviceNotConnected

DEFAULT_PORT = 8765
# Longest capture wait a caller may ask for (a finger not placed within it is a timeout).
MAX_TIMEOUT_S = 60.0
# HTTP status of each device error, for the page to tell the operator what to do.
ERROR_STATUS = {DeviceNotConnected: 503, CaptureTimeout: 408, DeviceBusy: 409}


class ReaderService:
    """Serves one fingerprint scanner on 127.0.0.1 to one allowed page origin."""

    def __init__(self, scanner: Any, *, allow_origin: str, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT):
        if not allow_origin or allow_origin == "*":
            raise ValueError("the reader service must name the one origin allowed to use it")
        self.scanner = scanner
        self.allow_origin = allow_origin.rstrip("/")
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL the page calls."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def capture_png(self, timeout_s: float) -> tuple[bytes, int]:
        """Capture one impression; return its PNG bytes and the reader's resolution."""
        pixels = self.scanner.capture(timeout_s)
        ok, buf = cv2.imencode(".png", pixels)
        if not ok:  # pragma: no cover - a uint8 grey image always encodes
            raise DeviceError("the impression could not be encoded")
        return buf.tobytes(), int(getattr(self.scanner, "resolution_ppi", 500))

    def start(self) -> ReaderService:
        """Serve in a background thread (the scanner must already be open)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(service: ReaderService) -> type[BaseHTTPRequestHandler]:
    """Build the request handler class bound to ``service``."""

    class Handler(BaseHTTPRequestHandler):
        """GET / (status), POST /capture?timeout=S (one impression as PNG), CORS preflight."""

        def log_message(self, *args: Any) -> None:
            """Keep the station's terminal quiet."""

        def _allowed(self) -> bool:
            return self.headers.get("Origin", "").rstrip("/") == service.allow_origin

        def _cors(self) -> None:
            if self._allowed():
                self.send_header("Access-Control-Allow-Origin", service.allow_origin)
                self.send_header("Access-Control-Allow-Methods", "GET, POST")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Access-Control-Expose-Headers", "X-Resolution-PPI")
                # Chromium's Private Network Access: a page may reach loopback only when the
                # loopback service says so in the preflight.
                self.send_header("Access-Control-Allow-Private-Network", "true")
                self.send_header("Vary", "Origin")

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"code": code, "message": message}).encode()
            self._send(status, body, "application/json")

        def _origin_ok(self) -> bool:
            # Requests without an Origin come from local tools (curl, the station CLI), which
            # can read the reader directly anyway; browsers always send one cross-origin.
            if "Origin" in self.headers and not self._allowed():
                self._error(403, "origin_not_allowed",
                            "this page may not use the station's fingerprint reader")
                return False
            return True

        def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
            """Answer the CORS preflight."""
            self._send(204 if self._allowed() else 403, b"", "text/plain")

        def do_GET(self) -> None:  # noqa: N802
            """Say which reader is served."""
            if not self._origin_ok():
                return
            if urlparse(self.path).path != "/":
                self._error(404, "not_found", "unknown path")
                return
            body = json.dumps({"reader": type(service.scanner).__name__,
                               "resolution_ppi": getattr(service.scanner, "resolution_ppi",
                                                         500)}).encode()
            self._send(200, body, "application/json")

        def do_POST(self) -> None:  # noqa: N802
            """Capture one impression and return it as PNG."""
            if not self._origin_ok():
                return
            url = urlparse(self.path)
            if url.path != "/capture":
                self._error(404, "not_found", "unknown path")
                return
            try:
                timeout = float(parse_qs(url.query).get("timeout", [FINGER_TIMEOUT_S])[0])
            except ValueError:
                self._error(400, "bad_timeout", "timeout must be a number of seconds")
                return
            timeout = min(max(timeout, 0.1), MAX_TIMEOUT_S)
            try:
                png, ppi = service.capture_png(timeout)
            except DeviceError as exc:
                status = next((s for cls, s in ERROR_STATUS.items() if isinstance(exc, cls)),
                              500)
                self._error(status, exc.code, str(exc))
                return
            self._send(200, png, "image/png", {"X-Resolution-PPI": str(ppi)})

    return Handler
