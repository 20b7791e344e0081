"""ASGI middleware: request body limits, structured access logs, Prometheus metrics, the one
handler of unexpected errors, and the JSON log format."""

from __future__ import annotations

import json
import logging
import time
import traceback

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

access_log = logging.getLogger("guardid.access")
error_log = logging.getLogger("guardid.api")
# Between the tracebacks of an exception and the one it came from (oldest first, as Python).
CHAIN_SEPARATOR = "The above exception led to the following exception:"


class BodyTooLarge(Exception):
    """Raised inside receive() when a streamed body passes its limit."""


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before the app reads them (uploads get more)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int):
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_upload if ctype.startswith("multipart/") else self.max_body
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_413(send, limit)
            return
        seen = 0
        tracked = _TrackedSend(send)

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await _send_413(send, limit)


class _TrackedSend:
    """An ASGI ``send`` that remembers whether the response has started (then it is too late
    for a middleware to answer with an error of its own)."""

    def __init__(self, send: Send):
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer with the JSON error body of ``code`` (outside FastAPI's handlers)."""
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _send_413(send: Send, limit: int) -> None:
    await _send_error(send, 413, "payload_too_large",
                      f"the request body is larger than {limit} bytes")


class Metrics:
    """The app's own Prometheus registry (one per app, so tests can build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("guardid_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("guardid_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry)


class AccessLogMiddleware:
    """One JSON log line and metrics per request; routes by template, never query strings."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            state = scope.get("state") or {}
            actor = state.get("actor")
            access_log.info(json.dumps({
                "event": "request", "method": scope["method"], "route": route,
                "status": status, "ms": round(elapsed * 1000, 1),
                "key": getattr(actor, "key_id", None), "role": getattr(actor, "role", None),
            }))


# Sent with every response: most carry personal data (records, images, archives, exports), and
# no response of this API is meant to be cached, sniffed into another type, or to tell the
# next site where the user came from.
SECURITY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"))
_SECURITY_NAMES = {name for name, _ in SECURITY_HEADERS}


class SecurityHeadersMiddleware:
    """Give every HTTP response no-store, nosniff and no-referrer (replacing a route's own)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in _SECURITY_NAMES]
                message = {**message, "headers": kept + list(SECURITY_HEADERS)}
            await send(message)

        await self.app(scope, receive, with_headers)


class UnhandledErrorMiddleware:
    """Answer an unexpected exception with one 500 JSON body and log it exactly once.

    Starlette's own error handler re-raises after answering, so the server logged every
    traceback a second time in plain text; here the exception ends with its one log record.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = _TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the last line: answered 500, logged once
            route = getattr(scope.get("route"), "path", "unmatched")
            error_log.error(json.dumps({"event": "unhandled_error", "route": route,
                                        "method": scope["method"],
                                        "error": type(exc).__name__}), exc_info=exc)
            if not tracked.started:
                await _send_error(send, 500, "internal_error", "an unexpected error occurred")


def safe_traceback(exc: BaseException) -> str:
    """Return the traceback of ``exc`` and its causes: frames and exception types only.

    Exception messages are left out, because they can carry personal data: a database's
    error text may quote the failing row, a parser's the value it choked on. For a SQL error
    the statement is kept; its values are bound parameters, hidden by the engine.
    """
    chain: list[BaseException] = []
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts = []
    for e in reversed(chain):
        frames = "".join(traceback.StackSummary.extract(
            traceback.walk_tb(e.__traceback__), capture_locals=False).format())
        kind = f"{type(e).__module__}.{type(e).__qualname__}"
        statement = getattr(e, "statement", None)
        sql = f"\n  SQL: {statement}" if isinstance(statement, str) else ""
        parts.append(f"Traceback (most recent call last):\n{frames}{kind}{sql}")
    return f"\n\n{CHAIN_SEPARATOR}\n\n".join(parts)


class JsonFormatter(logging.Formatter):
    """Format log records as one JSON object per line (every logger, uvicorn's included)."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON (messages already in JSON are embedded as objects)."""
        msg = record.getMessage()
        try:
            payload = json.loads(msg) if msg.startswith("{") else {"message": msg}
        except ValueError:
            payload = {"message": msg}
        if not isinstance(payload, dict):
            payload = {"message": msg}
        payload.update({"level": record.levelname, "logger": record.name,
                        "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")})
        if record.exc_info and record.exc_info[1] is not None:
            payload["exc"] = safe_traceback(record.exc_info[1])
        return json.dumps(payload, ensure_ascii=False)
