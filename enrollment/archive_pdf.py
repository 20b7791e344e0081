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
SECTIONS = [("history", "任职与状态变更"), ("certificates", "保安员证"),
            ("biometrics", "生物特征采集"), ("finger_exceptions", "指纹采集例外"),
            ("enrollments", "采集记录"), ("review_cases", "查重复核"),
            ("spot_checks", "现场核验"), ("violations", "违规记录")]
# Chinese for the values a person reads in the archive.
DUTY = {"on_duty": "在岗", "off_duty": "待岗", "left": "离职"}
BACKGROUND = {"pending": "待审查", "passed": "已通过", "failed": "未通过"}
FIELDS = {"duty_status": "上岗状态", "employer_id": "用人单位", "post_site": "岗位",
          "district": "辖区"}
FINGERS = {1: "右拇指", 2: "右食指", 3: "右中指", 4: "右环指", 5: "右小指",
           6: "左拇指", 7: "左食指", 8: "左中指", 9: "左环指", 10: "左小指"}
CERT_STATUS = {"valid": "有效", "suspended": "暂扣", "revoked": "吊销"}
CERT_EVENT = {"issued": "发证", "suspend": "暂扣", "revoke": "吊销", "reinstate": "恢复"}
EXC_REASON = {"amputated": "缺失", "injured": "受伤", "worn": "磨损", "other": "其他原因"}
DECISION = {"pending": "待主管决定", "approved": "主管已批准", "rejected": "主管已驳回"}
SESSION = {"open": "进行中", "committed": "已登记", "review": "待查重复核",
           "blocked": "已阻止（同一人另一身份）", "abandoned": "已放弃",
           "expired": "超时关闭（采集记录保留）"}
REVIEW = {"open": "待复核", "different_people": "复核为不同的人，准予登记",
          "same_person": "复核为同一人，疑似身份冒用"}
OUTCOME = {"match": "人证一致", "no_match": "人证不一致", "not_enrolled": "未采集生物特征",
           "no_certificate": "无保安员证", "certificate_suspended": "证件已暂扣",
           "certificate_revoked": "证件已吊销", "certificate_invalid": "证件无效",
           "background_check_failed": "背景审查未通过", "employer_unlicensed": "用人单位无许可",
           "employer_unfiled": "用人单位未备案", "employer_blacklisted": "用人单位列入黑名单",
           "not_on_duty_here": "未在登记岗位", "identified": "识别出已登记人员",
           "unknown_person": "未识别"}
MODE = {"verify": "持证核验", "identify": "无证识别"}
CATEGORY = {"unlicensed_service": "未经许可从事保安服务",
            "disguised_service": "挂靠、承包、委托、加盟、劳务派遣",
            "unfiled_unit": "自招保安员单位未备案",
            "outside_premises": "自招保安员单位对外提供保安服务",
            "unqualified_company": "雇佣无资质公司从事保安服务",
            "unqualified_person": "雇佣不符合规定人员从事保安服务",
            "uniform": "不按规定着保安服", "impersonation": "冒名顶岗"}
V_STATUS = {"open": "待处理", "confirmed": "已确认", "dismissed": "已排除"}
PHOTO_W, PHOTO_H = 30.0, 38.0  # mm, about a passport photo


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


def when(value: Any) -> str:
    """Return a stored time as a person reads it: ``YYYY-MM-DD HH:MM`` (UTC)."""
    return "—" if not value else str(value)[:16].replace("T", " ")


def _finger(position: Any) -> str:
    return FINGERS.get(int(position), f"第{position}指") if position else ""


def _history(e: dict) -> str:
    field = FIELDS.get(e["field"], e["field"])
    if e["field"] == "duty_status":
        value = DUTY.get(e["value"], e["value"])
    elif e["field"] == "employer_id":
        value = e.get("value_name") or ("无" if not e["value"] else f"单位 {e['value']}")
    else:
        value = e["value"] or "无"
    by = f"，经办：{e['by_name']}" if e.get("by_name") else ""
    return f"{when(e['at'])}　{field}变更为「{value}」{by}"


def _certificate(c: dict) -> str:
    events = "；".join(f"{when(e['at'])} {CERT_EVENT.get(e['event'], e['event'])}"
                      + (f"（{e['reason']}）" if e.get("reason") else "") for e in c["events"])
    status = CERT_STATUS.get(c["status"], c["status"])
    return (f"证号 {c['number']}，{c['issue_date']} 发证，现状态：{status}"
            + (f"。记录：{events}" if events else ""))


def _biometric(b: dict) -> str:
    what = "人像" if b["modality"] == "face" else f"指纹（{_finger(b['position'])}）"
    quality = f"，质量 {b['quality']:.0f}" if b.get("quality") is not None else ""
    gone = f"，已于 {when(b['superseded_at'])} 被新采集替换" if b.get("superseded_at") else ""
    return f"{when(b['captured_at'])}　采集{what}{quality}{gone}"


def _exception(f: dict) -> str:
    decided = f"（{when(f['decided_at'])}）" if f.get("decided_at") else ""
    return (f"{_finger(f['position'])}无法采集：{EXC_REASON.get(f['reason'], f['reason'])}，"
            f"{DECISION.get(f['status'], f['status'])}{decided}")


def _enrolment(s: dict) -> str:
    passed = sum(1 for c in s["captures"] if c["passed"])
    status = SESSION.get(s["status"], s["status"])
    return (f"{when(s['opened_at'])}　采集会话 #{s['session']}：{status}，"
            f"共采集 {len(s['captures'])} 次，合格 {passed} 次"
            + (f"，结束于 {when(s['closed_at'])}" if s.get("closed_at") else ""))


def _review(r: dict) -> str:
    others = "、".join(f"保安员 {c['guard_id']}" for c in r["candidates"]) or "他人"
    return f"查重复核 #{r['id']}：与{others}相似，{REVIEW.get(r['status'], r['status'])}"


def _check(c: dict) -> str:
    site = f"在「{c['site']}」" if c.get("site") else ""
    failed = "、".join(OUTCOME.get(f, f) for f in c.get("failed") or [])
    failed = f"（未通过：{failed}）" if failed else ""
    return (f"{when(c['at'])}　{site}{MODE.get(c['mode'], c['mode'])}："
            f"{OUTCOME.get(c['outcome'], c['outcome'])}{failed}")


def _violation(v: dict) -> str:
    site = f"，地点「{v['site']}」" if v.get("site") else ""
    return (f"{when(v['found_at'])}　{CATEGORY.get(v['category'], v['category'])}"
            f"（统计表第{v['column']}列）{site}，{V_STATUS.get(v['status'], v['status'])}")


SENTENCES = {"history": _history, "certificates": _certificate, "biometrics": _biometric,
             "finger_exceptions": _exception, "enrollments": _enrolment,
             "review_cases": _review, "spot_checks": _check, "violations": _violation}


def render(doc: dict[str, Any], *, font_file: Path | None = None,
           photo: bytes | None = None) -> bytes:
    """Return the archive document ``doc`` (from ``archive.build``) as PDF bytes a person
    reads: the enrolled photo beside the identity, each record as a sentence in Chinese."""
    path, index = find_font(font_file)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.add_page()
    ident = doc["identity"]
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, "保安员执业电子档案", new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y()
    if photo:
        import io

        pdf.image(io.BytesIO(photo), x=pdf.w - pdf.r_margin - PHOTO_W, y=top, w=PHOTO_W,
                  h=PHOTO_H, keep_aspect_ratio=True)
    pdf.set_font("cjk", size=10)
    employer = ident.get("employer_name") or "无"
    for label, value in (("姓名", ident.get("name")), ("身份证号", ident.get("id_number_masked")),
                         ("用人单位", employer), ("辖区", ident.get("district")),
                         ("岗位", ident.get("post_site") or "—"),
                         ("上岗状态", DUTY.get(ident.get("duty_status"), "—")),
                         ("背景审查", BACKGROUND.get(ident.get("background_check"), "—"))):
        pdf.cell(0, 6, f"{label}：{value or '—'}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + (PHOTO_H if photo else 0)))
    for key, title in SECTIONS:
        rows = doc.get(key, [])
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.cell(0, 8, f"{title}（{len(rows)}）", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        for item in rows:
            pdf.multi_cell(0, 5, SENTENCES[key](item), new_x="LMARGIN", new_y="NEXT")
        if not rows:
            pdf.cell(0, 5, "无记录", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
