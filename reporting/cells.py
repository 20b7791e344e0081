"""Spreadsheet-safe cells: every CSV and XLSX export goes through this module's writers.

A spreadsheet runs a text cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and
tab or carriage return start one after the spreadsheet strips them), so a guard named
``=cmd|' /C calc'!A0`` would run a command on the police workstation that opens the export.
The OWASP rule: such text gets a leading single quote, which shows the text as text. Numbers
stay numbers (``-5`` is data, not a formula); only text is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# First characters that make a spreadsheet read a text cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return ``value`` with a leading quote when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    """Return the rows with every text cell neutralised."""
    return [[safe_cell(v) for v in row] for row in rows]


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Return the rows as CSV text, every cell neutralised (the only CSV writer to use)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(safe_rows(rows))
    return buf.getvalue()


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """Return the rows as UTF-8 CSV with a BOM (so Excel reads the Chinese), neutralised."""
    return csv_text(rows).encode("utf-8-sig")


def xlsx_bytes(workbook: Any) -> bytes:
    """Return an openpyxl workbook as XLSX bytes after neutralising every text cell."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = safe_cell(cell.value)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()
