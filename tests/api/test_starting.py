"""Binding before the application is imported: while it imports and starts, /healthz answers,
/readyz and every other request say "starting" (503, Retry-After); then requests reach the
application, and its lifespan runs to the end at shutdown. `guardid serve` answers /healthz
before the application has been imported."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.starting import StartingApp
from tests.servers import ROOT, free_port


async def _get(app, path: str) -> tuple[int, dict, dict]:
    """Send one GET through the ASGI interface; return (status, headers, JSON body)."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": path, "headers": [],
               "query_string": b""}, receive, send)
    head = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return head["status"], {k.decode(): v.decode() for k, v in head["headers"]}, \
        json.loads(body)


def _real_app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        events.append("started")
        yield
        events.append("stopped")

    real = FastAPI(lifespan=lifespan)
    real.get("/guards")(lambda: {"guards": []})
    return real


def test_requests_are_answered_while_the_application_imports_then_reach_it():
    events: list[str] = []
    release = threading.Event()

    def factory():  # a slow import, as api.app's
        assert release.wait(10)
        return _real_app(events)

    app = StartingApp(factory, on_failure=lambda: events.append("failed"))

    async def scenario():
        to_app: asyncio.Queue = asyncio.Queue()
        from_app: asyncio.Queue = asyncio.Queue()
        life = asyncio.create_task(app({"type": "lifespan"}, to_app.get, from_app.put))
        await to_app.put({"type": "lifespan.startup"})
        assert (await asyncio.wait_for(from_app.get(), 2))["type"] == \
            "lifespan.startup.complete"  # at once: the port can be bound
        assert (await _get(app, "/healthz"))[0] == 200
        status, headers, body = await _get(app, "/readyz")
        assert status == 503 and body["checks"]["service"] == "starting"
        status, headers, body = await _get(app, "/guards")
        assert status == 503 and body["code"] == "service_starting" and body["message"]
        assert headers["retry-after"] == "2"
        assert not app.started and events == []
        release.set()
        deadline = time.monotonic() + 10
        while not app.started:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert events == ["started"]
        assert await _get(app, "/guards") == (200, {"content-length": "13",
                                                    "content-type": "application/json"},
                                              {"guards": []})
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await asyncio.wait_for(from_app.get(), 5))["type"] == \
            "lifespan.shutdown.complete"
        await life
        assert events == ["started", "stopped"]

    asyncio.run(scenario())


def test_an_application_that_cannot_start_ends_the_process():
    failed = threading.Event()

    def factory():
        raise ImportError("a broken install")

    app = StartingApp(factory, on_failure=failed.set)

    async def scenario():
        to_app: asyncio.Queue = asyncio.Queue()
        from_app: asyncio.Queue = asyncio.Queue()
        asyncio.create_task(app({"type": "lifespan"}, to_app.get, from_app.put))
        await to_app.put({"type": "lifespan.startup"})
        await from_app.get()
        deadline = time.monotonic() + 5
        while not failed.is_set():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert not app.started


def test_serve_answers_healthz_before_the_application_is_imported(env):
    """A real `guardid serve`: its first /healthz answer comes while /readyz still says the
    service is starting, i.e. before api.app has been imported; then it becomes ready."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline and proc.poll() is None
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        assert _readyz(url)["checks"]["service"] == "starting"
        while _readyz(url)["status"] != "ready":
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        with urllib.request.urlopen(url + "/guards", timeout=5) as r:  # the real app: no key
            raise AssertionError(f"unauthenticated request answered {r.status}")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _readyz(url: str) -> dict:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())
