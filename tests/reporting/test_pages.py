"""The coverage PDF rendered to an image, and the dashboard in a real headless Chromium."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.browser import Browser
from tests.helpers import auth
from tests.reporting.test_reports import ids  # noqa: F401


def test_coverage_pdf_renders(client, keys, ids, tmp_path):  # noqa: F811
    r = client.get("/reports/coverage", headers=auth(keys["police"]),
                   params={"date": "2026-11-20", "format": "pdf"})
    if r.status_code == 503:
        pytest.skip(r.json()["message"])
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    pdf = tmp_path / "coverage.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "采集率 60.0%" in text and "未完成采集 2 人" in text and "世界302" in text
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "p")], check=True)
    assert (tmp_path / "p-1.png").stat().st_size > 3000


def test_dashboard_in_chromium(keys, ids, server):  # noqa: F811
    page = Browser(("--window-size=1400,1800",))
    try:
        page.navigate(server + "/dashboard")
        page.eval(f"document.getElementById('apikey').value = '{keys['police']}';"
                  "document.getElementById('date').value = '2026-11-20';"
                  "document.getElementById('show').click()")
        page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
        assert page.eval("document.getElementById('rate').textContent") == "60.0%"
        assert page.eval("document.getElementById('on-duty').textContent") == "5"
        assert page.eval("document.getElementById('missing-count').textContent") == "2"
        assert page.eval("document.querySelector(\"td[data-col='16']\").textContent") == "3"
        # no CDN: the only scripts are the app's own files (the CSP allows nothing else)
        assert page.eval("[...document.querySelectorAll('script')].every(s => s.src && "
                         "new URL(s.src).origin === location.origin)") is True
        shot = page.screenshot("dashboard.png")
        assert shot.stat().st_size > 10_000
        page.eval("document.getElementById('district').value = '和平区';"
                  "document.getElementById('content').dataset.loaded = '';"
                  "document.getElementById('show').click()")
        page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
        assert page.eval("document.getElementById('rate').textContent") == "100.0%"
    finally:
        page.close()
