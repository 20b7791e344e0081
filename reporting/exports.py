"""Exports: CSV, XLSX laid out like the annex (title rows, grouped merged Chinese headers with
units), and a PDF coverage report with its charts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from reporting.campaign import minute
from reporting.cells import csv_bytes, xlsx_bytes
from reporting.labels import TEXT, columns, groups, missing, unit_name
from reporting.printed import print_layout


def _header(n: int, lang: str = "zh") -> str:
    """Return a column's header with its unit, as the annex prints it."""
    h, u = columns(lang)[n]
    if not u:
        return h
    return f"{h}（{u}）" if lang == "zh" else f"{h} ({u})"


def campaign_csv(t: dict, lang: str = "zh") -> bytes:
    """Return the table as CSV: one header row (column headers with units), one data row."""
    tx = TEXT[lang]
    rows = [
        [tx["unit"], tx["cut"]] + [_header(n, lang) for n in range(1, 24)],
        [unit_name(t, lang), t["period"]["to"]] + [t["cells"][str(n)] for n in range(1, 24)],
    ]
    if "pending_suspected_mismatches" in t:  # beside the table (older frozen weeks lack it)
        rows += [[], [tx["pending"], t["pending_suspected_mismatches"]["count"]]]
    return csv_bytes(rows)


def campaign_xlsx(t: dict, lang: str = "zh") -> bytes:
    """Return the table as XLSX in the annex layout."""
    tx = TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = tx["sheet"]
    last = get_column_letter(24)
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = tx["title"]
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = (f"{tx['unit']}{tx['sep']}{unit_name(t, lang)}    {tx['period']}{tx['sep']}"
                f"{t['period']['from']} {tx['to']} {t['period']['to']}{tx['cumulative']}")
    ws.merge_cells("A3:A4")
    ws["A3"] = tx["unit"]
    for title, cols in groups(lang):
        first, end = get_column_letter(cols[0] + 1), get_column_letter(cols[-1] + 1)
        if title:
            ws.merge_cells(f"{first}3:{end}3")
            ws[f"{first}3"] = title
        for n in cols:
            cell = ws.cell(row=4, column=n + 1, value=_header(n, lang))
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    ws.cell(row=5, column=1, value=unit_name(t, lang))
    for n in range(1, 24):
        ws.cell(row=5, column=n + 1, value=t["cells"][str(n)])
    for row in (3, 4):
        for col in range(1, 25):
            ws.cell(row=row, column=col).font = Font(bold=True)
    print_layout(ws, first_row=3, header_rows=2, last_row=5, last_col=24)
    if "pending_suspected_mismatches" in t:
        _pending_sheet(wb, t["pending_suspected_mismatches"], tx)
    return xlsx_bytes(wb)


def _pending_sheet(wb: Workbook, pending: dict, tx: dict[str, str]) -> None:
    """Add the sheet of suspected mismatches awaiting a supervisor (not in the table)."""
    ws = wb.create_sheet(tx["pending_sheet"])
    ws["A1"], ws["B1"] = tx["pending"], pending["count"]
    ws["A1"].font = Font(bold=True)
    ws["A2"] = tx["pending_cases"]
    for i, case in enumerate(pending["cases"], start=3):
        ws.cell(row=i, column=1, value=case)


def coverage_header(lang: str) -> list[str]:
    """Return the header row of the coverage table (district and the counts) in ``lang``."""
    tx = TEXT[lang]
    return [tx[k] for k in ("district", "on_duty", "face", "fingerprints", "both", "rate")]


def coverage_csv(c: dict, lang: str = "zh") -> bytes:
    """Return coverage as CSV: one row per district, then the missing list."""
    tx = TEXT[lang]
    rows: list[list] = [[f"{tx['coverage']} {tx['unit']}{tx['sep']}{unit_name(c, lang)} "
                         f"{tx['as_of']} {c['as_of']}"], coverage_header(lang)]
    for name, f in [*c["by_district"].items(), (tx["total"], c["total"])]:
        rows.append([name, f["on_duty"], f["face"], f["fingerprints"], f["both"], f["rate"]])
    rows.append([])
    rows.append([tx["missing_head"], tx["name"], tx["district"], tx["employer"], tx["lacks"],
                 tx["since"]])
    for m in c["missing"]:
        rows.append([m["guard_id"], m["name"], m["district"], m["employer"],
                     missing(m["missing"], lang), minute(m["on_duty_since"])])
    return csv_bytes(rows)


def coverage_pdf(c: dict, font: tuple[str, int], lang: str = "zh") -> bytes:
    """Return the coverage report as PDF: totals, a bar per district against 100%, the list."""
    from fpdf import FPDF

    tx = TEXT[lang]
    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
    pdf.add_page()
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 10, f"{tx['coverage']} {unit_name(c, lang)} {c['as_of']}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    t = c["total"]
    rate = "—" if t["rate"] is None else f"{t['rate']:.1%}"
    pdf.cell(0, 7, tx["summary"].format(on_duty=t["on_duty"], face=t["face"],
                                        fingerprints=t["fingerprints"], both=t["both"],
                                        rate=rate),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for name, f in c["by_district"].items():
        share = f["rate"] or 0.0
        y = pdf.get_y()
        pdf.cell(40, 6, name)
        pdf.set_fill_color(220, 220, 220)
        pdf.rect(55, y + 1, 120, 4, style="F")
        pdf.set_fill_color(40, 120, 60)
        pdf.rect(55, y + 1, 120 * share, 4, style="F")
        pdf.set_xy(178, y)
        pdf.cell(0, 6, f"{share:.0%}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, tx["missing_count"].format(n=c["missing_count"]), new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("cjk", size=8)
    for m in c["missing"][:200]:
        pdf.cell(0, 4.5, f"{m['guard_id']}  {m['name']}  {m['employer'] or ''}  "
                 f"{tx['lacks_sep']}{missing(m['missing'], lang)}  {tx['since']} "
                 f"{minute(m['on_duty_since'])}",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


__all__ = ["Path", "campaign_csv", "campaign_xlsx", "coverage_csv", "coverage_pdf"]
