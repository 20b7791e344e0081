"""Browser pages. A page is a static shell with no data in it: everything it shows comes
from the API, called by the page with the user's own key, so the page itself needs none."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from registry.exceptions import NotFound

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGES = Path(__file__).resolve().parent.parent / "pages"
# No third-party code, no inline code at all (scripts and styles are files of the app, so an
# injected <script> or on*= attribute does not run), no plugins, no framing by other sites.
# Cache-Control, nosniff and Referrer-Policy come with every response (api/middleware.py).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP}
# The station page may also call the station's local reader service (guardid station reader),
# which listens on the loopback interface only.
STATION_CSP = PAGE_CSP.replace(
    "default-src 'self';", "default-src 'self'; connect-src 'self' http://127.0.0.1:* "
    "http://localhost:*;")
# The pages' own scripts and styles, by file suffix.
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@lru_cache(maxsize=16)
def _page(name: str) -> str:
    """Return a page's HTML, script or stylesheet (read once)."""
    return (PAGES / name).read_text(encoding="utf-8")


@router.get("/inspect", response_class=HTMLResponse)
def inspect_page() -> HTMLResponse:
    """The inspector's mobile page: scan or type the certificate, take a photo, see the result."""
    return HTMLResponse(_page("inspect.html"), headers=PAGE_HEADERS)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page() -> HTMLResponse:
    """The police dashboard shell; its content is rendered by /reports/dashboard.html."""
    return HTMLResponse(_page("dashboard.html"), headers=PAGE_HEADERS)


@router.get("/review", response_class=HTMLResponse)
def review_page() -> HTMLResponse:
    """The supervisor's queues: possible duplicates and suspected mismatches, decided here."""
    return HTMLResponse(_page("review.html"), headers=PAGE_HEADERS)


@router.get("/station", response_class=HTMLResponse)
def station_page() -> HTMLResponse:
    """The enrolment station in a browser: camera with live quality feedback, fingerprints."""
    return HTMLResponse(_page("station.html"), headers={
        **PAGE_HEADERS, "Content-Security-Policy": STATION_CSP,
        "Permissions-Policy": "camera=(self)"})


@router.get("/pages/{asset}")
def page_asset(asset: str) -> Response:
    """A page's script or stylesheet (only the files in api/pages, by exact name)."""
    names = {p.name for p in PAGES.iterdir() if p.suffix in ASSET_TYPES}
    if asset not in names:
        raise NotFound(f"no page asset {asset}")
    return Response(_page(asset), media_type=ASSET_TYPES[Path(asset).suffix])
