"""Exports: CSV, XLSX laid out like the annex (title rows, grouped merged Chinese headers with
units), and a PDF coverage report with its charts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from reporting.campaign import COLUMNS, GROUPS, minute, unit_label
from reporting.cells import csv_bytes, xlsx_bytes
from reporting.printed import MISSING_ZH, print_layout

TITLE = "保安服务市场清理整顿专项行动统计表"
# Suspected biometric mismatches awaiting a supervisor: shown beside the table, not in it.
PENDING_LABEL = "待主管确认的疑似人证不符（未计入本表）"
PENDING_SHEET = "待确认疑似人证不符"


def _header(n: int) -> str:
    """Return a column's header with its unit, as the annex prints it."""
    h, u = COLUMNS[n]
    return f"{h}（{u}）" if u else h


def campaign_csv(t: dict) -> bytes:
    """Return the table as CSV: one header row (column headers with units), one data row."""
    rows = [
        ["填报单位", "统计截止"] + [_header(n) for n in range(1, 24)],
        [unit_label(t), t["period"]["to"]] + [t["cells"][str(n)] for n in range(1, 24)],
    ]
    if "pending_suspected_mismatches" in t:  # beside the table (older frozen weeks lack it)
        rows += [[], [PENDING_LABEL, t["pending_suspected_mismatches"]["count"]]]
    return csv_bytes(rows)


def campaign_xlsx(t: dict) -> bytes:
    """Return the table as XLSX in the annex layout."""
    wb = Workbook()
    ws = wb.active
    ws.title = "统计表"
    last = get_column_letter(24)
    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = (f"填报单位：{unit_label(t)}    统计时间："
                f"{t['period']['from']} 至 {t['period']['to']}（累计）")
    ws.merge_cells("A3:A4")
    ws["A3"] = "填报单位"
    for title, cols in GROUPS:
        first, end = get_column_letter(cols[0] + 1), get_column_letter(cols[-1] + 1)
        if title:
            ws.merge_cells(f"{first}3:{end}3")
            ws[f"{first}3"] = title
        for n in cols:
            cell = ws.cell(row=4, column=n + 1, value=_header(n))
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    ws.cell(row=5, column=1, value=unit_label(t))
    for n in range(1, 24):
        ws.cell(row=5, column=n + 1, value=t["cells"][str(n)])
    for row in (3, 4):
        for col in range(1, 25):
            ws.cell(row=row, column=col).font = Font(bold=True)
    print_layout(ws, first_row=3, header_rows=2, last_row=5, last_col=24)
    if "pending_suspected_mismatches" in t:
        _pending_sheet(wb, t["pending_suspected_mismatches"])
    return xlsx_bytes(wb)


def _pending_sheet(wb: Workbook, pending: dict) -> None:
    """Add the sheet of suspected mismatches awaiting a supervisor (not in the table)."""
    ws = wb.create_sheet(PENDING_SHEET)
    ws["A1"], ws["B1"] = PENDING_LABEL, pending["count"]
    ws["A1"].font = Font(bold=True)
    ws["A2"] = "待确认案件编号"
    for i, case in enumerate(pending["cases"], start=3):
        ws.cell(row=i, column=1, value=case)


def coverage_csv(c: dict) -> bytes:
    """Return coverage as CSV: one row per district, then the missing list."""
    rows: list[list] = [[f"上岗保安员人像和指纹采集情况 填报单位：{unit_label(c)} 截至 "
                         f"{c['as_of']}"],
                        ["辖区", "在岗保安员（人）", "已采集人像（人）", "已采集指纹（人）",
                         "均已采集（人）", "采集率"]]
    for name, f in [*c["by_district"].items(), ("合计", c["total"])]:
        rows.append([name, f["on_duty"], f["face"], f["fingerprints"], f["both"], f["rate"]])
    rows.append([])
    rows.append(["未完成采集：保安员编号", "姓名", "辖区", "用人单位", "缺", "在岗起"])
    for m in c["missing"]:
        rows.append([m["guard_id"], m["name"], m["district"], m["employer"],
                     "、".join(MISSING_ZH[x] for x in m["missing"]), minute(m["on_duty_since"])])
    return csv_bytes(rows)


def coverage_pdf(c: dict, font: tuple[str, int]) -> bytes:
    """Return the coverage report as PDF: totals, a bar per district against 100%, the list."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
    pdf.add_page()
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 10, f"上岗保安员人像和指纹采集情况 {unit_label(c)} {c['as_of']}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    t = c["total"]
    rate = "—" if t["rate"] is None else f"{t['rate']:.1%}"
    pdf.cell(0, 7, f"在岗 {t['on_duty']} 人，人像 {t['face']}，指纹 {t['fingerprints']}，"
                   f"均已采集 {t['both']}，采集率 {rate}（目标 100%）",
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
    pdf.cell(0, 7, f"未完成采集 {c['missing_count']} 人", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    for m in c["missing"][:200]:
        pdf.cell(0, 4.5, f"{m['guard_id']}  {m['name']}  {m['employer'] or ''}  缺：" +
                 "、".join(MISSING_ZH[x] for x in m["missing"]) +
                 f"  在岗起 {minute(m['on_duty_since'])}",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


__all__ = ["Path", "campaign_csv", "campaign_xlsx", "coverage_csv", "coverage_pdf"]
