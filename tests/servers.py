"""Real `guardid serve` processes for tests that need a server over HTTP (the station agent,
offline certificate sync, crash recovery, browser pages)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A loaded 2-core machine takes a while to import dlib and replay the galleries (90 s was
# not always enough while other work shared the cores).
START_TIMEOUT_S = 180
# Lines of a server's stderr kept to explain a failed start.
STDERR_TAIL_LINES = 200


def free_port() -> int:
    """Return a TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(runtime) -> dict[str, str]:  # noqa: ANN001
    """Return the environment that points a subprocess at the test's database and keys."""
    from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS

    s = runtime.settings
    return {**os.environ, "GUARDID_DATABASE_URL": s.database_url,
            "GUARDID_VAR_DIR": str(s.var_dir), "GUARDID_KEYRING_FILE": str(s.keyring_file),
            "GUARDID_ENV": "test",
            # the served path computes probes in a pool, as deployed; one process is enough
            "GUARDID_COMPUTE_PROCESSES": "1",
            "GUARDID_FINGER_THRESHOLDS_FILE": str(SYNTHETIC_FINGER_THRESHOLDS),
            **({"GUARDID_GALLERY_BACKEND": "milvus", "GUARDID_MILVUS_URI": s.milvus_uri,
                "GUARDID_MILVUS_COLLECTION_PREFIX": s.milvus_collection_prefix}
               if s.gallery_backend == "milvus" else {})}


def _drain(stream, tail: deque) -> None:  # noqa: ANN001
    """Read ``stream`` to its end, keeping its last lines in ``tail``."""
    for line in stream:
        tail.append(line)


def loading(url: str) -> bool:
    """Return True while the server at ``url`` is starting or its galleries still load."""
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    checks = body.get("checks", {})
    return checks.get("service") == "starting" or checks.get("galleries") == "loading"


def start(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start a server on a free port and wait until it answers; return (process, url)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    # Drain stderr for the server's whole life: a pipe nobody reads fills (64 KiB of JSON log
    # lines: the /readyz polls below, a test's requests) and then blocks the server's next
    # log write, so requests time out and SIGTERM is never acted on.
    tail: deque[bytes] = deque(maxlen=STDERR_TAIL_LINES)
    threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True,
                     name="guardid-test-server-stderr").start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            if not loading(url):  # the galleries load after the port is bound
                return proc, url
        except OSError:
            if proc.poll() is not None:
                break
        time.sleep(0.1)
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(0.2)  # the drain reads to the end of the pipe
    pytest.fail("the server did not start: " + b"".join(tail).decode()[-2000:])
    raise AssertionError  # unreachable: pytest.fail raises
