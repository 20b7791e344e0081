"""The electronic practice archive as a PDF (A4, Chinese headings, one section per record kind).

Chinese needs a CJK font. It is found at ``GUARDID_PDF_FONT_FILE`` or among the system fonts
Debian's ``fonts-noto-cjk`` / ``fonts-wqy-zenhei`` install (``make`` and the Dockerfile
install the first); without one the export is refused with ``pdf_font_missing`` rather than
printing boxes where the names should be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

from enrollment.exceptions import PdfFontMissing

# (path, index of the Simplified Chinese face inside a font collection)
SYSTEM_CJK_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
SECTIONS = [("history", "任职与状态变更 Employment and status history"),
            ("certificates", "保安员证 Certificates"),
            ("biometrics", "生物特征采集 Biometrics collected"),
            ("finger_exceptions", "指纹采集例外 Finger exceptions"),
            ("enrollments", "采集记录 Enrolment sessions"),
            ("review_cases", "查重复核 De-duplication reviews"),
            ("spot_checks", "现场核验 Spot checks"),
            ("violations", "违规记录 Violations")]


def find_font(configured: Path | None) -> tuple[str, int]:
    """Return (font file, collection index) of a CJK font; raise PdfFontMissing when none."""
    if configured is not None:
        if not configured.exists():
            raise PdfFontMissing(f"GUARDID_PDF_FONT_FILE {configured} does not exist")
        return str(configured), 0
    for path, index in SYSTEM_CJK_FONTS:
        if Path(path).exists():
            return path, index
    raise PdfFontMissing("no CJK font for PDF export: install fonts-noto-cjk or set "
                         "GUARDID_PDF_FONT_FILE")


def _line(item: dict[str, Any]) -> str:
    """Return one record as a compact 'key: value' line (nested lists summarised)."""
    parts = []
    for k, v in item.items():
        if isinstance(v, list):
            v = f"{len(v)} 项"
        if v not in (None, "", []):
            parts.append(f"{k}: {v}")
    return " · ".join(parts)


def render(doc: dict[str, Any], *, font_file: Path | None = None) -> bytes:
    """Return the archive document ``doc`` (from ``archive.build``) as PDF bytes."""
    path, index = find_font(font_file)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.add_page()
    ident = doc["identity"]
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, "保安员执业电子档案 Guard practice archive", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    for label, key in (("姓名 Name", "name"), ("身份证号 ID number", "id_number_masked"),
                       ("辖区 District", "district"), ("在岗状态 Duty", "duty_status"),
                       ("背景审查 Background check", "background_check")):
        pdf.cell(0, 6, f"{label}: {ident.get(key, '—')}", new_x="LMARGIN", new_y="NEXT")
    for key, title in SECTIONS:
        rows = doc.get(key, [])
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, f"{title} ({len(rows)})", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        for item in rows or [{"—": "无记录 none"}]:
            pdf.multi_cell(0, 4.5, _line(item), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
