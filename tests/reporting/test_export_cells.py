"""Formula injection: no text cell of any CSV or XLSX export starts a spreadsheet formula, and
every export in the repository writes through reporting/cells.py."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from fixtures import world
from reporting.cells import FORMULA_STARTS, csv_text, safe_cell
from tests.helpers import auth

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_DISTRICT = "@SUM(1+1)*cmd|' /C calc'!A0"


def _csv_cells(body: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]


def _xlsx_cells(body: bytes) -> list[object]:
    wb = load_workbook(io.BytesIO(body))
    return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_inert(cells: list[object], hostile: str) -> None:
    texts = [c for c in cells if isinstance(c, str)]
    assert "'" + hostile in texts, "the hostile text is missing from the export"
    assert not [c for c in texts if c.startswith(FORMULA_STARTS)]


@pytest.fixture
def hostile_world(runtime):
    with runtime.sessions() as s:
        ids = world.build(s, runtime.vault)
        s.execute(text("UPDATE guards SET name = :n WHERE id = :g"),
                  {"n": HOSTILE_NAME, "g": ids["g3"]})
        s.commit()
    return ids


def test_every_export_neutralises_formula_text(client, keys, hostile_world):
    key = auth(keys["police"])
    cov = client.get("/reports/coverage", headers=key,
                     params={"date": "2026-11-20", "format": "csv"})
    assert cov.status_code == 200, cov.text
    _assert_inert(_csv_cells(cov.content), HOSTILE_NAME)
    for fmt, cells in (("csv", _csv_cells), ("xlsx", _xlsx_cells)):
        r = client.get("/reports/campaign", headers=key,
                       params={"date": "2026-11-20", "district": HOSTILE_DISTRICT, "format": fmt})
        assert r.status_code == 200, r.text
        values = cells(r.content)
        _assert_inert(values, HOSTILE_DISTRICT)
        if fmt == "xlsx":  # counts stay numbers: only text is quoted
            assert any(isinstance(v, int) for v in values)


def test_the_rule_quotes_text_only():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(start + "1") == "'" + start + "1"
    assert safe_cell(-5) == -5 and safe_cell(1.5) == 1.5 and safe_cell(None) is None
    assert safe_cell("-5") == "'-5" and safe_cell("和平区") == "和平区"
    assert csv_text([["=1+1", -5]]).strip() == "'=1+1,-5"


# Writing CSV or XLSX anywhere but reporting/cells.py would skip the rule.
DIRECT_CSV = re.compile(r"csv\.(writer|DictWriter)\(")


def test_every_csv_and_xlsx_writer_goes_through_the_cells_module():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/")) or rel == "reporting/cells.py":
            continue
        src = path.read_text(encoding="utf-8")
        if DIRECT_CSV.search(src):
            offenders.append(rel)
        if "Workbook(" in src and (".save(" in src or "xlsx_bytes(" not in src):
            offenders.append(rel)
    assert offenders == []
