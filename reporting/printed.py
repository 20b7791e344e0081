"""Reports laid out for printing: the XLSX page setup of the annex (borders, widths, centred
headers, frozen header rows repeated on every landscape page), coverage as XLSX and the
campaign table as a PDF a person reads."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reporting.campaign import minute
from reporting.cells import xlsx_bytes
from reporting.labels import TEXT, columns, groups, missing, unit_name

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
# Column width in characters for a wrapped header: a CJK character is about two.
MIN_WIDTH, MAX_WIDTH, HEADER_LINES = 8, 40, 3


def _width(text: str) -> int:
    """Return the printed width of ``text`` in character cells (CJK counts double)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def print_layout(ws: Worksheet, *, first_row: int, header_rows: int, last_row: int,
                 last_col: int) -> None:
    """Box every table cell, size columns to their wrapped headers, centre the headers,
    freeze them and repeat them on every printed page (A4 landscape, one page wide)."""
    top_header = first_row + header_rows - 1
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, max_col=last_col):
        for cell in row:
            cell.border = BOX
            if cell.row <= top_header:
                cell.alignment = Alignment(horizontal="center", vertical="center",
                                           wrap_text=True)
                cell.font = Font(bold=True)
    for col in range(1, last_col + 1):
        texts = [str(ws.cell(row=r, column=col).value or "")
                 for r in range(first_row, last_row + 1)]
        longest = max(_width(t) for t in texts)
        wanted = max(longest // HEADER_LINES + 2, max(_width(t) for t in texts[header_rows:]
                                                      or [""]) + 2)
        ws.column_dimensions[get_column_letter(col)].width = max(MIN_WIDTH,
                                                                 min(MAX_WIDTH, wanted))
    ws.freeze_panes = ws.cell(row=top_header + 1, column=2)
    ws.print_title_rows = f"{first_row}:{top_header}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True


def coverage_xlsx(c: dict, lang: str = "zh") -> bytes:
    """Return coverage as XLSX: one row per district with the total, then who is missing."""
    tx = TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = tx["rate_sheet"]
    ws["A1"] = (f"{tx['coverage']} {tx['unit']}{tx['sep']}{unit_name(c, lang)} "
                f"{tx['as_of']} {c['as_of']}")
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([tx[k] for k in ("district", "on_duty", "face", "fingerprints", "both", "rate")])
    for name, f in [*c["by_district"].items(), (tx["total"], c["total"])]:
        ws.append([name, f["on_duty"], f["face"], f["fingerprints"], f["both"], f["rate"]])
        ws.cell(row=ws.max_row, column=6).number_format = "0.0%"
    print_layout(ws, first_row=2, header_rows=1, last_row=ws.max_row, last_col=6)
    sheet = wb.create_sheet(tx["missing_sheet"])
    sheet.append([tx[k] for k in ("guard_id", "name", "district", "employer", "post", "lacks",
                                  "since")])
    for m in c["missing"]:
        sheet.append([m["guard_id"], m["name"], m["district"], m["employer"] or "",
                      m.get("post_site") or "", missing(m["missing"], lang),
                      minute(m["on_duty_since"])])
    print_layout(sheet, first_row=1, header_rows=1, last_row=sheet.max_row, last_col=7)
    return xlsx_bytes(wb)


def campaign_pdf(t: dict, font: tuple[str, int], lang: str = "zh") -> bytes:
    """Return the campaign table as an A4 PDF: each group's columns as numbered lines with
    their value (23 columns in one printed row would be unreadable), pending cases below."""
    from fpdf import FPDF

    tx = TEXT[lang]
    cols_text = columns(lang)
    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
    pdf.add_page()
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 10, tx["title"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 7, f"{tx['unit']}{tx['sep']}{unit_name(t, lang)}    {tx['period']}{tx['sep']}"
                   f"{t['period']['from']} {tx['to']} {t['period']['to']}{tx['cumulative']}",
             new_x="LMARGIN", new_y="NEXT")
    for title, cols in groups(lang):
        pdf.ln(2)
        pdf.set_font("cjk", size=11)
        if title:
            pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=10)
        for n in cols:
            head, u = cols_text[n]
            pdf.cell(12, 6.5, f"{n}.", border=1, align="C")
            pdf.cell(140, 6.5, head, border=1)
            pdf.cell(0, 6.5, f"{t['cells'][str(n)]} {u}", border=1, align="R",
                     new_x="LMARGIN", new_y="NEXT")
    pending = t.get("pending_suspected_mismatches")
    if pending is not None:
        pdf.ln(4)
        pdf.cell(0, 7, f"{tx['pending']}{tx['sep']}{pending['count']} {tx['count']}",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
