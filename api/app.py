"""The FastAPI application factory and its lifespan (the one place that wires everything)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import docs, errors
from api.logs import LOGGERS, configure_logging, log_config  # noqa: F401 - re-exported
from api.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    Metrics,
    SecurityHeadersMiddleware,
    UnhandledErrorMiddleware,
)
from api.query import reject_unknown_query
from api.routers import (
    audit,
    certificates,
    ecert,
    enrollment,
    exams,
    guards,
    health,
    inspection,
    mismatches,
    organisations,
    pages,
    reporting,
    violations,
)
from bootstrap import Runtime, build_runtime
from registry.audit_trail import Sealer
from registry.settings import Settings, get_settings

# ecert before certificates: its fixed paths (/certificates/keys ...) must win over
# /certificates/{number}.
ROUTERS = (health.router, organisations.router, guards.router, ecert.router,
           certificates.router, audit.router, enrollment.router, inspection.router,
           mismatches.router, violations.router, exams.router, reporting.router, pages.router)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Return the guardid app; its lifespan opens the database, keyring and models."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        app.state.runtime = runtime or build_runtime(settings)
        if own:
            # In the background: the port is bound at once; /readyz says "loading" and a
            # search answers 503 gallery_loading until the galleries are current.
            app.state.runtime.start_loading()
        app.state.runtime.start_listener()
        # Requests only insert audit entries; this thread chains them and checkpoints the head.
        sealer = Sealer.for_settings(app.state.runtime.audit_trail, settings).start()
        try:
            yield
        finally:
            await asyncio.to_thread(sealer.stop)
            if own:
                await asyncio.to_thread(app.state.runtime.close)
            else:
                if app.state.runtime.listener is not None:
                    await asyncio.to_thread(app.state.runtime.listener.stop)
                    app.state.runtime.listener = None
                # a loader the caller started ends with the app that served it
                await asyncio.to_thread(app.state.runtime.stop_loading)

    app = FastAPI(title="guardid", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Biometric identity and enrollment service for security guards. "
                  "Every endpoint but /healthz and /readyz needs an API key "
                  "(`Authorization: Bearer gid_...`).")
    app.state.metrics = Metrics()
    errors.install(app)
    docs.install(app, ROUTERS)
    for router in ROUTERS:
        app.include_router(router, responses=errors.ERROR_RESPONSES,
                           dependencies=[Depends(reject_unknown_query)])
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes)
    # outside the body limit, whose own exception (a streamed body over the limit) is a 413
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(AccessLogMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every response, 413s included
    return app
