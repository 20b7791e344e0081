"""A real headless Chromium driven over the DevTools protocol (no chromedriver needed).

Page tests use :func:`browser` (a pytest fixture factory would hide the skip reason): it
starts the system ``chromium`` with a private profile, and the test steers it with
``navigate``, ``eval``, ``set_files`` and ``screenshot``. Tests skip with a reason when the
binary is absent (``make test`` installs the Debian package when it can).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

# Screenshots (and rendered report pages) kept for people to look at after a run:
# GUARDID_ARTEFACTS when set (CI collects that folder), else test-artifacts/ in the checkout.
ARTIFACTS = Path(os.environ.get("GUARDID_ARTEFACTS")
                 or Path(__file__).resolve().parent.parent / "test-artifacts")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# A loaded 2-core CI host has taken over 10 s to start Chromium; give it time, and relaunch
# once if it died or never opened its DevTools port.
LAUNCH_TIMEOUT_S = 45.0
LAUNCH_ATTEMPTS = 2


def chromium_path() -> str | None:
    """Return the Chromium binary on PATH, or None."""
    return next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


class Browser:
    """One headless Chromium with one page, steered over a DevTools websocket."""

    def __init__(self, extra_args: tuple[str, ...] = ()):
        import websocket

        binary = chromium_path()
        if binary is None:
            pytest.skip("chromium is not installed (Debian package `chromium`)")
        self.profile = tempfile.mkdtemp(prefix="guardid-chromium-")
        self.proc: subprocess.Popen | None = None
        self.ws = None
        args = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                "--window-size=412,915", *extra_args, "about:blank")
        target = None
        for _ in range(LAUNCH_ATTEMPTS):
            self.log = Path(self.profile) / "chromium.log"
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL,
                                             stderr=log)
            target = self._page_target()
            if target is not None:
                break
            self._stop()
        if target is None:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            self.close()
            raise RuntimeError(f"chromium did not open its DevTools port after "
                               f"{LAUNCH_ATTEMPTS} launches; its log ends:\n{tail}")
        self.ws = websocket.create_connection(target, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _page_target(self) -> str | None:
        """Return the websocket URL of the browser's first page, or None if it never came up.

        Chromium picks its own free port (``--remote-debugging-port=0``, so no other process
        can take it first) and writes it to ``DevToolsActivePort`` in the profile.
        """
        end = time.monotonic() + LAUNCH_TIMEOUT_S
        active = Path(self.profile) / "DevToolsActivePort"
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                port = int(active.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                            timeout=2) as r:
                    pages = [t for t in json.loads(r.read()) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.1)
        return None

    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and return its result (events in between are dropped)."""
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait until the document has loaded."""
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def eval(self, expression: str):  # noqa: ANN201
        """Evaluate JavaScript in the page (awaiting promises) and return the value."""
        r = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                      returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"].get("exception", {}).get("description"))
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):  # noqa: ANN201
        """Poll ``expression`` until it is truthy; return its value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout}s for: {expression}")

    def set_files(self, selector: str, paths: list[Path]) -> None:
        """Put files into an <input type=file> as if the user had picked them."""
        doc = self.call("DOM.getDocument")
        node = self.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector=selector)
        self.call("DOM.setFileInputFiles", nodeId=node["nodeId"],
                  files=[str(p) for p in paths])
        self.eval(f"document.querySelector({json.dumps(selector)})"
                  ".dispatchEvent(new Event('change', {bubbles: true}))")

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the page under test-artifacts/ and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(data))
        return path

    def _stop(self) -> None:
        """Stop the browser process, killing it if it does not exit."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 (closing a dead socket is fine)
                pass
        self._stop()
        shutil.rmtree(self.profile, ignore_errors=True)
