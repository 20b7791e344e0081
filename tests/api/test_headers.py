"""Response headers: every response (JSON, errors, exports, images, pages, assets) is
no-store, nosniff and no-referrer; pages run under a CSP with no inline code, and carry none."""

from __future__ import annotations

import re

from api.routers.pages import PAGES
from tests.helpers import auth

EXPECTED = {"cache-control": "no-store", "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer"}


def _assert_private(r) -> None:  # noqa: ANN001
    got = {k: r.headers.get(k) for k in EXPECTED}
    assert got == EXPECTED, f"{r.request.method} {r.request.url.path} -> {r.status_code}: {got}"


def test_every_get_route_and_every_error_has_the_headers(client, keys):
    admin = auth(keys["admin"])
    plain = [path for path, ops in client.app.openapi()["paths"].items()
             if "get" in ops and "{" not in path]
    assert len(plain) > 10
    for path in plain:
        _assert_private(client.get(path, headers=admin))
    _assert_private(client.get("/guards"))  # 401
    _assert_private(client.get("/guards/1", headers=admin))  # 404
    _assert_private(client.get("/no/such/route"))  # the framework's 404
    _assert_private(client.post("/guards", headers=admin, content=b"x" * (2 << 20)))  # 413
    csv = client.get("/reports/coverage", headers=auth(keys["police"]),
                     params={"format": "csv"})
    assert csv.status_code == 200
    _assert_private(csv)


def test_pages_allow_no_inline_code_and_their_assets_are_served(client):
    for page in ("/inspect", "/dashboard", "/station"):
        r = client.get(page)
        assert r.status_code == 200
        _assert_private(r)
        csp = dict(part.strip().split(" ", 1)
                   for part in r.headers["content-security-policy"].split(";"))
        assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
        assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
        html = r.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
        assert "<style" not in html and not re.search(r"\sstyle\s*=", html)
        assert not re.search(r"\son[a-z]+\s*=", html, re.I)  # no inline event handlers
        for asset in re.findall(r'(?:src|href)="(/pages/[^"]+)"', html):
            a = client.get(asset)
            assert a.status_code == 200 and a.headers["content-type"].startswith(
                ("text/javascript", "text/css"))
            _assert_private(a)
    assert client.get("/pages/../registry/settings.py").status_code == 404
    assert client.get("/pages/inspect.html").status_code == 404  # assets only
    assert {p.suffix for p in PAGES.iterdir()} <= {".html", ".js", ".css"}
