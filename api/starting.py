"""Answer at once while the service starts: the port is bound before the application (its
routers, the face and finger engines, NumPy, OpenCV, FAISS, dlib: seconds of imports) is
imported, so ``/healthz`` answers within a second of ``guardid serve`` and a load balancer
does not mark the replica dead during a start.

Until the real application is imported and its own lifespan has started, ``/healthz``
answers 200, ``/readyz`` 503 ``starting``, and every other request 503 with the stable code
``service_starting`` and a Retry-After header. This module imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger("guardid.starting")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Seconds a client is told to wait before retrying while the service starts.
STARTING_RETRY_AFTER_S = 2
# Exit status of the process when the application cannot be imported or started.
START_FAILED_EXIT = 3


class StartingApp:
    """An ASGI application that imports and starts ``factory()``'s in the background and
    answers for it until then."""

    def __init__(self, factory: Callable[[], ASGIApp],
                 on_failure: Callable[[], None] = lambda: os._exit(START_FAILED_EXIT)):
        self._factory, self._on_failure = factory, on_failure
        self._app: ASGIApp | None = None
        self._task: asyncio.Task | None = None
        self._runner: asyncio.Task | None = None
        self._to_app: asyncio.Queue | None = None
        self._from_app: asyncio.Queue | None = None

    @property
    def started(self) -> bool:
        """Whether the real application serves requests now."""
        return self._app is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif scope["type"] == "http":
            await _starting_response(scope, send)
        else:  # a websocket before the application exists: refuse it
            await send({"type": "websocket.close", "code": 1013})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Report start-up complete at once (the port is bound), start the real application
        in the background, and stop it at shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._task = asyncio.create_task(self._start())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        """Import the application (in a thread: the event loop keeps answering), then run
        its lifespan start-up; on failure log it and end the process."""
        try:
            app = await asyncio.to_thread(self._factory)
            self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
            scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                     "state": {}}
            self._runner = asyncio.create_task(
                app(scope, self._to_app.get, self._from_app.put))
            await self._to_app.put({"type": "lifespan.startup"})
            reply = await self._from_app.get()
            if reply["type"] != "lifespan.startup.complete":
                raise RuntimeError(reply.get("message") or "the application did not start")
            self._app = app
            log.info("service started")
        except Exception:  # noqa: BLE001 - nothing can serve: say why and end the process
            log.exception("the service could not start")
            self._on_failure()

    async def _stop(self) -> None:
        """Run the real application's lifespan shutdown (after its start, if still going)."""
        if self._task is not None and not self._task.done():
            await self._task
        if self._app is None or self._runner is None or self._to_app is None \
                or self._from_app is None:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        await self._runner


async def _starting_response(scope: Scope, send: Send) -> None:
    """Answer one HTTP request while the application starts."""
    path = scope.get("path", "")
    if path == "/healthz":
        status, body, extra = 200, {"status": "ok"}, []
    elif path == "/readyz":
        status, extra = 503, [(b"retry-after", str(STARTING_RETRY_AFTER_S).encode())]
        # the galleries load after the application starts: not loaded yet either
        body = {"status": "not_ready", "checks": {"service": "starting", "galleries": "loading"}}
    else:
        status, extra = 503, [(b"retry-after", str(STARTING_RETRY_AFTER_S).encode())]
        body = {"code": "service_starting",
                "message": "the service is starting; retry in a few seconds"}
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(raw)).encode()),
                            (b"cache-control", b"no-store"), *extra]})
    await send({"type": "http.response.body", "body": raw})
