"""The API documentation at /docs, served with no CDN: Swagger UI's files come from the
installed ``swagger-ui-bundle`` package. The OpenAPI document declares the API key as a
security scheme (so "Authorize" takes a key) and names on every operation the roles that
may call it; every operation's error statuses carry the one error body, ``{code, message}``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from api.deps import authenticate
from api.errors import ERROR_STATUSES
from registry.exceptions import NotFound

ASSETS = "/docs/assets"
# The files Swagger UI needs, by name, with their media types.
ASSET_TYPES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
               "swagger-ui.css": "text/css; charset=utf-8", "favicon-32x32.png": "image/png"}
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "gid_<id>_<secret>",
               "description": "An API key (`guardid keys create --role ...`), sent as "
                              "`Authorization: Bearer gid_...`."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key",
               "description": "The same API key in the `X-Api-Key` header."},
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _asset_dir() -> Path:
    """Return the folder of Swagger UI's files in the installed package."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def _roles(dependant) -> tuple[set[str] | None, bool]:  # noqa: ANN001
    """Return (roles admitted, whether a key is needed) from a route's dependency tree."""
    roles: set[str] | None = None
    keyed = False
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        allowed = getattr(dep.call, "allowed_roles", None)
        if allowed is not None:
            roles = (roles or set()) | set(allowed)
            keyed = True
        if dep.call is authenticate:
            keyed = True
        stack.extend(dep.dependencies)
    return roles, keyed


def openapi_document(app: FastAPI, routers: Iterable[APIRouter]) -> dict:
    """Return the OpenAPI document with the key schemes and each operation's roles (read
    from the routes of ``routers``, the ones the app includes)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    doc.setdefault("components", {})["securitySchemes"] = SCHEMES
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        roles, keyed = _roles(route.dependant)
        for method in {m.lower() for m in route.methods} & HTTP_METHODS:
            op = doc["paths"].get(route.path_format, {}).get(method)
            if op is None:
                continue
            # An error is JSON {code, message} even from a route that answers HTML or a file.
            for status in ERROR_STATUSES:
                if str(status) in op.get("responses", {}):
                    op["responses"][str(status)]["content"] = {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            if not keyed:
                op["security"] = []
                note = "**Roles:** none (no API key needed)."
            else:
                op["security"] = [{"bearer": []}, {"apiKey": []}]
                names = ", ".join(sorted(roles)) if roles else "any valid API key"
                note = f"**Roles:** {names}."
                op["x-roles"] = sorted(roles) if roles else []
            op["description"] = f"{note}\n\n{op.get('description', '')}".strip()
    app.openapi_schema = doc
    return doc


def _nullable(node: dict, options: list) -> dict:
    """Return a 3.0 schema for ``anyOf: [X, {type: null}]``: X marked nullable."""
    rest = [o for o in options if o != {"type": "null"}]
    extra = {k: v for k, v in node.items() if k != "anyOf"}
    if len(rest) == 1:
        only = to_openapi_30(rest[0])
        base = {"allOf": [only]} if "$ref" in only else only
        return {**base, **extra, "nullable": True}
    return {**extra, "anyOf": [to_openapi_30(o) for o in rest], "nullable": True}


def to_openapi_30(node):  # noqa: ANN001, ANN201
    """Return the OpenAPI 3.1 document (or part) ``node`` written as OpenAPI 3.0, which is
    what the packaged Swagger UI (4.x) renders: nullable for a null alternative, binary
    format for uploads, enum for const. /openapi.json itself stays 3.1."""
    if isinstance(node, list):
        return [to_openapi_30(x) for x in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("anyOf"), list) and {"type": "null"} in node["anyOf"]:
        return _nullable(node, node["anyOf"])
    out = {}
    for key, value in node.items():
        if key == "contentMediaType":
            out["format"] = "binary"
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples" and isinstance(value, list):
            if value:
                out["example"] = to_openapi_30(value[0])
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = to_openapi_30(value)
    if out.get("openapi", "").startswith("3.1"):
        out["openapi"] = "3.0.3"
    return out


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Serve /docs and its assets from the installed package, and the documented schema."""
    routers = tuple(routers)
    app.openapi = lambda: openapi_document(app, routers)  # type: ignore[method-assign]

    @app.get(ASSETS + "/openapi-3.0.json", include_in_schema=False)
    def openapi_30() -> dict:
        return to_openapi_30(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=ASSETS + "/openapi-3.0.json", title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False})

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    def swagger_asset(name: str) -> Response:
        if name not in ASSET_TYPES:
            raise NotFound(f"no documentation asset {name}")
        return Response((_asset_dir() / name).read_bytes(), media_type=ASSET_TYPES[name])
