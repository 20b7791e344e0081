"""The one place where domain errors become HTTP: status, stable ``code``, human ``message``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.query import UnknownQueryParameter
from biometrics.exceptions import GalleryBackendError, GalleryLoading
from enrollment.exceptions import (
    IdempotencyMismatch,
    NothingToCommit,
    PdfFontMissing,
    SessionClosed,
    SessionExpired,
    TooManyAttempts,
)
from inspection.exceptions import CertificateTokenError, NoDocument, NoProbe, RecaptureRefused
from matching.exceptions import GuardidError, ImageError, QualityError, TemplateError
from registry.exceptions import (
    AuthThrottled,
    ConfigurationError,
    Conflict,
    CryptoError,
    Forbidden,
    ImportFileError,
    InvalidTransition,
    NotFound,
    PayloadTooLarge,
    Unauthenticated,
    ValidationFailed,
)
from reporting.exceptions import DayNotEnded, UnknownColumn, UnsupportedLanguage

log = logging.getLogger("guardid.api")

# Most specific class first wins (looked up along each error's MRO).
STATUS: dict[type[GuardidError], int] = {
    Unauthenticated: 401,
    AuthThrottled: 429,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidTransition: 409,
    ValidationFailed: 422,
    ImportFileError: 400,
    PayloadTooLarge: 413,
    ImageError: 400,
    QualityError: 422,
    TemplateError: 400,
    CryptoError: 500,
    SessionClosed: 409,
    SessionExpired: 409,
    TooManyAttempts: 409,
    NothingToCommit: 422,
    IdempotencyMismatch: 422,
    ConfigurationError: 500,
    CertificateTokenError: 400,
    NoProbe: 422,
    NoDocument: 422,
    RecaptureRefused: 409,
    PdfFontMissing: 503,
    GalleryLoading: 503,
    GalleryBackendError: 503,
    UnknownColumn: 404,
    DayNotEnded: 409,
    UnknownQueryParameter: 400,
    UnsupportedLanguage: 400,
}
# Status codes of the framework's own errors, with the code we send for each.
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
              415: "unsupported_media_type", 401: "unauthenticated", 403: "forbidden"}


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    code: str
    message: str
    details: list[dict] | dict | None = None


# Error statuses any operation may answer (documented on every route, one body for all).
ERROR_STATUSES = {
    400: "Malformed request (bad JSON, unreadable file or image)",
    401: "No valid API key",
    403: "The key's role or district may not do this",
    404: "No such resource (or not visible to this key)",
    409: "Conflicts with the current state",
    413: "Body or upload too large",
    415: "Unsupported media type",
    422: "Invalid request (field-level details)",
    429: "Too many attempts; retry after the Retry-After header",
}
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": text} for status, text in ERROR_STATUSES.items()}


# Methods an Allow header may name.
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def status_for(exc: GuardidError) -> int:
    """Return the HTTP status for a domain error (422 when nothing more specific applies)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422


def error_body(code: str, message: str, details: object = None) -> dict:
    """Return the JSON error body every failure shares."""
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def allowed_methods(request: Request) -> str:
    """Return the Allow header for a 405: every method some route on the request's path takes.

    Starlette names only the methods of the first route whose path matched, and /guards has
    a GET and a POST route, so each method is tried against the whole route table.
    """
    routes = request.app.router.routes
    allowed = [m for m in HTTP_METHODS
               if any(r.matches({**request.scope, "method": m})[0] == Match.FULL
                      for r in routes)]
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a JSON error body."""

    @app.exception_handler(GuardidError)
    async def _domain(_: Request, exc: GuardidError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500 and not isinstance(exc, GalleryLoading):  # loading: expected, not a fault
            log.error("domain error %s: %s", exc.code, exc.message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if isinstance(exc, AuthThrottled | GalleryLoading):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(exc.to_dict(), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(error_body("malformed_json", "the request body is not valid JSON"),
                                status_code=400)
        # Never echo the input back: it may carry personal data.
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"],
                    "type": e["type"]} for e in errors]
        first = details[0]
        return JSONResponse(
            error_body("invalid_request", f"{first['field']}: {first['problem']}", details),
            status_code=422)

    @app.exception_handler(PydanticValidationError)
    async def _model(_: Request, exc: PydanticValidationError) -> JSONResponse:
        # Form fields validated inside a route (multipart requests) fail here.
        details = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"],
                    "type": e["type"]} for e in exc.errors()]
        first = details[0]
        return JSONResponse(
            error_body("invalid_request", f"{first['field']}: {first['problem']}", details),
            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=headers or None)

    # Unexpected exceptions are answered (500) and logged once by
    # api.middleware.UnhandledErrorMiddleware, not here: Starlette re-raises after an
    # Exception handler, and the server then logged every traceback a second time.
