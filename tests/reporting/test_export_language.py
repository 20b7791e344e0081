"""Exports in English on request (``lang=en``): headers, groups, units and enum values read
back in English from the XLSX and CSV; the Chinese default unchanged; an unknown language is
a 400 with its code; the dashboard's export buttons pass the page's language."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from fixtures import world
from tests.helpers import auth

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"


@pytest.fixture
def ids(runtime):
    with runtime.sessions() as s:
        return world.build(s, runtime.vault)


def _get(client, key, path, **params):
    r = client.get(path, headers=auth(key), params={"date": DAY, **params})
    assert r.status_code == 200, r.text
    return r


def _cjk(text: str) -> bool:
    return any(ord(ch) > 0x2E80 for ch in text)


def test_campaign_xlsx_and_csv_in_english(client, keys, ids):
    key = keys["police"]
    t = _get(client, key, "/reports/campaign").json()
    ws = load_workbook(io.BytesIO(_get(client, key, "/reports/campaign", format="xlsx",
                                       lang="en").content)).active
    assert ws.title == "Table"
    assert ws["A1"].value == "Security services market clean-up campaign statistics"
    assert ws["A3"].value == "Reporting unit" and ws["A5"].value == "City-wide"
    assert ws["B3"].value == "District survey" and ws["I3"].value == "Violations found"
    assert ws["B4"].value == "Units using security guards (units)"
    headers = [ws.cell(row=4, column=n + 1).value for n in range(1, 24)]
    assert not [h for h in headers if _cjk(h)], headers
    assert [ws.cell(row=5, column=n + 1).value for n in range(1, 23)] == [
        t["cells"][str(n)] for n in range(1, 23)]  # the same figures as in Chinese
    rows = list(csv.reader(io.StringIO(_get(client, key, "/reports/campaign", format="csv",
                                            lang="en").content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Reporting unit", "Up to", "Units using security guards (units)"]
    assert not [h for h in rows[0] if _cjk(h)]
    assert rows[1][0] == "City-wide"
    # Chinese stays the default, and lang=zh is the same bytes as no lang at all.
    zh = _get(client, key, "/reports/campaign", format="csv")
    assert zh.content.decode("utf-8-sig").startswith("填报单位,统计截止,使用保安单位（家）")
    assert _get(client, key, "/reports/campaign", format="csv", lang="zh").content == zh.content


def test_coverage_xlsx_and_csv_in_english(client, keys, ids):
    key = keys["police"]
    book = load_workbook(io.BytesIO(_get(client, key, "/reports/coverage", format="xlsx",
                                         lang="en").content))
    rate, missing = book.worksheets
    assert (rate.title, missing.title) == ("Collection rate", "Not yet collected")
    assert [c.value for c in rate[2]] == ["District", "On duty (persons)",
                                          "Face collected (persons)",
                                          "Fingerprints collected (persons)",
                                          "Both collected (persons)", "Collection rate"]
    assert [c.value for c in rate[rate.max_row]][:5] == ["Total", 5, 4, 3, 3]
    assert [c.value for c in missing[1]] == ["Guard id", "Name", "District", "Employer", "Post",
                                             "Missing", "On duty since"]
    lacks = {row[0].value: row[5].value for row in missing.iter_rows(min_row=2)}
    assert lacks[ids["g3"]] == "face, fingerprints" and lacks[ids["g4"]] == "fingerprints"
    cov = _get(client, key, "/reports/coverage", format="csv", lang="en").content.decode(
        "utf-8-sig")
    assert "Total,5,4,3,3,0.6" in cov and "Reporting unit: City-wide" in cov
    assert '"face, fingerprints",2026-11-05 09:00\r\n' in cov and "人像" not in cov
    zh = load_workbook(io.BytesIO(_get(client, key, "/reports/coverage",
                                       format="xlsx").content))
    assert [ws.title for ws in zh.worksheets] == ["采集率", "未完成采集"]
    assert zh.worksheets[1]["F1"].value == "缺"


# What the English PDFs must say (their labels), read back with pdftotext.
PDF_LABELS_EN = {
    "/reports/coverage": ["Face and fingerprint collection of on-duty guards City-wide",
                          "5 on duty, face 4, fingerprints 3, both 3, rate 60.0% (target 100%)",
                          "2 not yet collected", "missing: face, fingerprints",
                          "missing: fingerprints", "On duty since 2026-11-05 09:00"],
    "/reports/campaign": ["Security services market clean-up campaign statistics",
                          "Reporting unit: City-wide", "Period: 2026-11-01 to 2026-11-20",
                          "(cumulative)", "District survey", "Violations found",
                          "Investigation and rectification",
                          "Employing non-compliant persons as guards 1 persons",
                          "Suspected mismatches awaiting a supervisor (not counted in this "
                          "table): 0 cases"],
}


def test_pdfs_in_english(client, keys, ids, runtime, tmp_path):
    """Every label in English; the only Chinese left is what has no English: the names of
    districts, employers and people."""
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    with runtime.sessions() as s:
        names = set(s.scalars(text("SELECT name FROM guards UNION SELECT name FROM "
                                   "organisations UNION SELECT district FROM guards")))
    for path, labels in PDF_LABELS_EN.items():
        r = _get(client, keys["police"], path, format="pdf", lang="en")
        assert r.content.startswith(b"%PDF") and r.content != _get(
            client, keys["police"], path, format="pdf").content
        pdf = tmp_path / "en.pdf"
        pdf.write_bytes(r.content)
        words = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                        text=True, check=True).stdout.split())
        for label in labels:
            assert label in words, (path, label, words)
        rest = words
        for name in sorted(names, key=len, reverse=True):
            rest = rest.replace(name, "")
        assert not _cjk(rest), (path, [w for w in rest.split() if _cjk(w)])


@pytest.mark.parametrize("path", ["/reports/coverage", "/reports/campaign"])
def test_unknown_language_is_refused(client, keys, ids, path):
    for lang in ("fr", "EN", "x" * 300):
        r = client.get(path, headers=auth(keys["police"]),
                       params={"format": "csv", "lang": lang})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["code"] == "unsupported_language"
        assert "zh" in body["message"] and "en" in body["message"]


def test_dashboard_exports_pass_the_page_language():
    js = (ROOT / "api/pages/dashboard.js").read_text()
    handler = js[js.index('querySelectorAll("#exports button")'):]
    assert 'q.set("lang", lang())' in handler[:handler.index("fetch(")]
