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


def test_dashboard_in_chromium(keys, ids, server, tmp_path):  # noqa: F811
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
        # the trend is drawn from the dated history: 30 days, no snapshot was ever taken
        assert page.eval("document.getElementById('trend').dataset.points") == "30"
        assert page.eval("[...document.querySelectorAll('#districts option')]"
                         ".map(o => o.value).sort()") == sorted(["和平区", "蓟州区"])
        shot = page.screenshot("dashboard.png")
        assert shot.stat().st_size > 10_000
        _missing_search_and_language(page, ids)
        _exports_download_and_open(page, tmp_path)
        page.eval("document.getElementById('district').value = '和平区';"
                  "document.getElementById('content').dataset.loaded = '';"
                  "document.getElementById('show').click()")
        page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
        assert page.eval("document.getElementById('rate').textContent") == "100.0%"
    finally:
        page.close()


def _pdf_text(content: bytes, tmp_path) -> str:
    """Return a PDF's text, after checking that poppler renders its first page."""
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "r")], check=True)
    assert (tmp_path / "r-1.png").stat().st_size > 3000
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_printed_layouts_campaign_pdf_and_coverage_xlsx(client, keys, ids, tmp_path):  # noqa: F811
    import io

    from openpyxl import load_workbook

    h, day = auth(keys["police"]), {"date": "2026-11-20"}
    table = client.get("/reports/campaign", headers=h, params=day).json()
    wb = load_workbook(io.BytesIO(client.get("/reports/campaign", headers=h,
                                             params={**day, "format": "xlsx"}).content))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "B5" and ws.print_title_rows == "$3:$4"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    for ref in ("A3", "Q4", "X5", "B5"):
        assert ws[ref].border.left.style == "thin" and ws[ref].border.bottom.style == "thin"
    assert ws["B3"].alignment.horizontal == "center"  # the merged group header
    assert all(ws.column_dimensions[c].width >= 8 for c in ("B", "F", "X"))
    r = client.get("/reports/coverage", headers=h, params={**day, "format": "xlsx"})
    assert r.status_code == 200, r.text
    cov = load_workbook(io.BytesIO(r.content))
    assert cov.sheetnames == ["采集率", "未完成采集"]
    rows = list(cov["采集率"].iter_rows(min_row=2, values_only=True))
    assert rows[-1][:5] == ("合计", 5, 4, 3, 3) and rows[-1][5] == 0.6
    assert cov["采集率"]["F3"].border.top.style == "thin"
    assert cov["采集率"].page_setup.orientation == "landscape"
    assert cov["未完成采集"].max_row == 1 + 2 and cov["未完成采集"]["F2"].value in (
        "人像", "指纹", "人像、指纹")
    pdf = client.get("/reports/campaign", headers=h, params={**day, "format": "pdf"})
    if pdf.status_code == 503:
        pytest.skip(pdf.json()["message"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    assert "保安服务市场清理整顿专项行动统计表" in text and "全市" in text
    line = next(x for x in text.splitlines() if "雇佣不符合规定人员从事保安服务" in x)
    assert line.split()[0] == "15." and line.split()[-1] == f"{table['cells']['15']}人"
    assert "待主管确认的疑似人证不符" in text


def _exports_download_and_open(page, tmp_path) -> None:  # noqa: ANN001
    """Click every export button; each file lands in the download folder and opens."""
    import io
    import time

    from openpyxl import load_workbook

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
    for report in ("coverage", "campaign"):
        for fmt in ("xlsx", "csv", "pdf"):
            page.eval("document.getElementById('export-status').dataset.last = '';"
                      f"document.querySelector(\"#exports button[data-report='{report}']"
                      f"[data-format='{fmt}']\").click()")
            name = page.wait_for("document.getElementById('export-status').dataset.last")
            assert name == f"{report}-全市-2026-11-20.{fmt}"
            path = downloads / name
            end = time.monotonic() + 20
            while not path.exists() and time.monotonic() < end:
                time.sleep(0.1)
            data = path.read_bytes()
            if fmt == "xlsx":
                wb = load_workbook(io.BytesIO(data))
                assert wb.worksheets[0].page_setup.orientation == "landscape"
            elif fmt == "pdf":
                assert data.startswith(b"%PDF")
                if report == "campaign":
                    assert "统计表" in _pdf_text(data, tmp_path)
            else:
                assert data.decode("utf-8-sig").count("\n") >= 2
    # In English, an export comes in English: the page passes its language to the server.
    (downloads / "campaign-全市-2026-11-20.csv").unlink()
    page.eval("document.getElementById('content').dataset.loaded = '';"
              "document.getElementById('lang').value = 'en';"
              "document.getElementById('lang').dispatchEvent(new Event('change'))")
    page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
    page.eval("document.getElementById('export-status').dataset.last = '';"
              "document.querySelector(\"#exports button[data-report='campaign']"
              "[data-format='csv']\").click()")
    path = downloads / page.wait_for("document.getElementById('export-status').dataset.last")
    end = time.monotonic() + 20
    while not path.exists() and time.monotonic() < end:
        time.sleep(0.1)
    rows = path.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("Reporting unit,Up to,") and rows[1].startswith("City-wide,")


def _missing_search_and_language(page, ids) -> None:  # noqa: ANN001, F811
    """The unit's name in the heading, the paged missing list, the guard search, Chinese
    labels and enum values first, English on the switch."""
    import datetime as dt

    from registry import idnumber

    assert page.eval("document.getElementById('unit-name').textContent") == "全市"
    assert "按单位类型" in page.eval("document.getElementById('content').textContent")
    types = page.eval("[...document.querySelectorAll(\"svg[aria-label='employer types'] "
                      "text.name\")].map(t => t.textContent)")
    assert "保安公司" in types and "security_company" not in types
    page.wait_for("document.getElementById('missing-box').dataset.loaded === 'true'")
    rows = page.eval("[...document.querySelectorAll('#missing-list tbody tr')].map(r => "
                     "[+r.dataset.guardId, r.cells[5].textContent, r.cells[6].textContent])")
    assert rows == [[ids["g3"], "人像、指纹", "2026-11-05 09:00"],
                    [ids["g4"], "指纹", "2026-11-05 09:00"]]
    assert page.eval("document.getElementById('missing-next').disabled") is True
    assert "共 2 条" in page.eval("document.getElementById('missing-page').textContent")

    def search(name="", cert="", id_number=""):
        page.eval(f"document.getElementById('s-name').value = {name!r};"
                  f"document.getElementById('s-cert').value = {cert!r};"
                  f"document.getElementById('s-id').value = {id_number!r};"
                  "document.getElementById('search-status').dataset.state = '';"
                  "document.getElementById('s-go').click()")
        page.wait_for("document.getElementById('search-status').dataset.state")
        return page.eval("[...document.querySelectorAll('#search-results tbody tr')]"
                         ".map(r => +r.dataset.guardId)")

    assert len(search(name="世界")) == 8
    assert "找到 8 人" in page.eval("document.getElementById('search-status').textContent")
    raw = idnumber.make("120225", dt.date(1990, 1, 1), 2 * 300 + 1, male=True)
    assert search(id_number=raw) == [ids["g1"]]
    assert search(cert="W-0004") == [ids["g4"]]
    search()  # nothing to search for: refused, said in Chinese
    assert page.eval("document.getElementById('search-status').textContent") == \
        "请输入姓名、保安员证编号或身份证号"
    page.screenshot("dashboard-search.png")
    page.eval("document.getElementById('content').dataset.loaded = '';"
              "document.getElementById('lang').value = 'en';"
              "document.getElementById('lang').dispatchEvent(new Event('change'))")
    page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
    assert page.eval("document.querySelector('h1').textContent").startswith("On-duty guards")
    assert "By employer type" in page.eval("document.getElementById('content').textContent")
    assert "security company" in page.eval("document.getElementById('content').textContent")
    assert page.eval("document.querySelector('#missing-list tbody tr').cells[5]"
                     ".textContent") == "face、fingerprints"
    search()
    assert "name, a certificate number" in page.eval(
        "document.getElementById('search-status').textContent")
    page.screenshot("dashboard-english.png")
    page.eval("document.getElementById('content').dataset.loaded = '';"
              "document.getElementById('lang').value = 'zh';"
              "document.getElementById('lang').dispatchEvent(new Event('change'))")
    page.wait_for("document.getElementById('content').dataset.loaded === 'true'")
