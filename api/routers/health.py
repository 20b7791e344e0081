"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from api.deps import AdminOrAuditor, RuntimeDep
from api.replica_metrics import replica_metrics
from registry import migrate
from registry.db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process answers (no key needed, reveals nothing)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the database answers, its schema is at the code's migration head, and the
    galleries are loaded (else "loading", with progress) and within the replica lag bound
    (a reason says which is not)."""
    checks = {"database": "ok", "migrations": "ok", "galleries": "ok"}
    reason = None
    loading = runtime.loading_status()
    try:
        ping(runtime.engine)
        if not migrate.is_current(runtime.engine):
            checks["migrations"] = "behind"
        elif loading is not None:
            checks["galleries"] = "loading"
        else:
            reason = runtime.replica_status().reason
            checks["galleries"] = "lagging" if reason else "ok"
    except SQLAlchemyError:
        checks = {"database": "unreachable", "migrations": "unknown", "galleries": "unknown"}
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    if reason:
        body["reason"] = reason
    if loading is not None:
        body["progress"] = loading
    if checks["database"] == "ok" and runtime.uses_milvus:
        # The Milvus indexer's backlog: searches stay whole meanwhile (the tail is searched
        # here), so a lag is reported, not a reason to leave the load balancer.
        body["indexer"] = {lag.modality: {"changes": lag.changes, "oldest_s": round(
            lag.oldest_s, 3)} for lag in runtime.indexer_lag()}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request, _: AdminOrAuditor) -> Response:
    """Prometheus text exposition of request counts, latencies and the replica's galleries."""
    registry = request.app.state.metrics.registry
    body = generate_latest(registry) + replica_metrics(request.app.state.runtime)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
