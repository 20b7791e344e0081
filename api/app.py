"""The FastAPI application factory and its lifespan (the one place that wires everything)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.middleware import AccessLogMiddleware, BodyLimitMiddleware, JsonFormatter, Metrics
from api.routers import (
    audit,
    certificates,
    ecert,
    enrollment,
    exams,
    guards,
    health,
    inspection,
    organisations,
    pages,
    reporting,
    violations,
)
from api.runtime import Runtime, build_runtime
from registry.settings import Settings, get_settings

# ecert before certificates: its fixed paths (/certificates/keys ...) must win over
# /certificates/{number}.
ROUTERS = (health.router, organisations.router, guards.router, ecert.router,
           certificates.router, audit.router, enrollment.router, inspection.router,
           violations.router, exams.router, reporting.router, pages.router)


def configure_logging(level: str) -> None:
    """Send guardid's logs to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("guardid")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Return the guardid app; its lifespan opens the database, keyring and models."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or build_runtime(settings)
        if own:
            # Off the request path: models and the gallery are ready before traffic arrives.
            await asyncio.to_thread(app.state.runtime.warm_up)
        try:
            yield
        finally:
            if own:
                app.state.runtime.close()

    app = FastAPI(title="guardid", version="0.1.0", lifespan=lifespan,
                  description="Biometric identity and enrollment service for security guards. "
                  "Every endpoint but /healthz and /readyz needs an API key "
                  "(`Authorization: Bearer gid_...`).")
    app.state.metrics = Metrics()
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=errors.ERROR_RESPONSES)
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes)
    app.add_middleware(AccessLogMiddleware, metrics=app.state.metrics)
    return app
