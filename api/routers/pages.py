"""Browser pages. A page is a static shell with no data in it: everything it shows comes
from the API, called by the page with the user's own key, so the page itself needs none."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"], include_in_schema=False)
PAGES = Path(__file__).resolve().parent.parent / "pages"
# No third-party scripts, no framing by other sites, nothing cached by shared proxies.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self' "
                "'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                "frame-ancestors 'none'", "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff"}
# The station page may also call the station's local reader service (guardid station reader),
# which listens on the loopback interface only.
STATION_CSP = PAGE_HEADERS["Content-Security-Policy"].replace(
    "default-src 'self';", "default-src 'self'; connect-src 'self' http://127.0.0.1:* "
    "http://localhost:*;")


@lru_cache(maxsize=8)
def _page(name: str) -> str:
    """Return a page's HTML (read once)."""
    return (PAGES / name).read_text(encoding="utf-8")


@router.get("/inspect", response_class=HTMLResponse)
def inspect_page() -> HTMLResponse:
    """The inspector's mobile page: scan or type the certificate, take a photo, see the result."""
    return HTMLResponse(_page("inspect.html"), headers=PAGE_HEADERS)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page() -> HTMLResponse:
    """The police dashboard shell; its content is rendered by /reports/dashboard.html."""
    return HTMLResponse(_page("dashboard.html"), headers=PAGE_HEADERS)


@router.get("/station", response_class=HTMLResponse)
def station_page() -> HTMLResponse:
    """The enrolment station in a browser: camera with live quality feedback, fingerprints."""
    return HTMLResponse(_page("station.html"), headers={
        **PAGE_HEADERS, "Content-Security-Policy": STATION_CSP,
        "Permissions-Policy": "camera=(self)"})
