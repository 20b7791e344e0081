"""Labels of the report exports in each language: Chinese first (as the police file them),
English on request (``lang=en``). Enum values are printed through these tables, never raw."""

from __future__ import annotations

from reporting.campaign import COLUMNS, GROUPS, unit_label
from reporting.exceptions import UnsupportedLanguage

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# Campaign-table columns (header, unit) by language; Chinese as the annex prints them.
COLUMNS_EN: dict[int, tuple[str, str]] = {
    1: ("Units using security guards", "units"), 2: ("Self-recruiting security units", "units"),
    3: ("Employing a security company for security services", "units"),
    4: ("Employing a property-management company for security services", "units"),
    5: ("Guards employed by unqualified units (labour, cleaning companies)", "units"),
    6: ("Security guards", "persons"), 7: ("Holding a guard certificate", "persons"),
    8: ("Security services without a licence", "cases"),
    9: ("Affiliation, contracting, franchising, labour dispatch", "cases"),
    10: ("Self-recruiting unit not registered", "cases"),
    11: ("of which: property-service companies", "cases"),
    12: ("Self-recruiting unit serving others", "cases"),
    13: ("of which: property-service companies", "cases"),
    14: ("Employing an unqualified company for security services", "cases"),
    15: ("Employing non-compliant persons as guards", "persons"),
    16: ("Not wearing the guard uniform as required", "persons"),
    17: ("Illegal security organisations cleared", "organisations"),
    18: ("Rectified: property contract including security signed", "persons"),
    19: ("Rectified: security service contract signed", "persons"),
    20: ("Guard certificate obtained after prompting", "persons"),
    21: ("Self-recruiting registration made after prompting", "units"),
    22: ("Police-like uniforms or 'special duty' wording cleared", "persons"),
    23: ("Remarks", ""),
}
GROUPS_EN = ["District survey", "Violations found", "Investigation and rectification", ""]

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "保安服务市场清理整顿专项行动统计表", "sheet": "统计表", "unit": "填报单位",
        "cut": "统计截止", "period": "统计时间", "to": "至", "cumulative": "（累计）",
        "sep": "：", "pending": "待主管确认的疑似人证不符（未计入本表）",
        "pending_sheet": "待确认疑似人证不符", "pending_cases": "待确认案件编号", "count": "起",
        "coverage": "上岗保安员人像和指纹采集情况", "as_of": "截至", "district": "辖区",
        "on_duty": "在岗保安员（人）", "face": "已采集人像（人）",
        "fingerprints": "已采集指纹（人）", "both": "均已采集（人）", "rate": "采集率",
        "total": "合计", "missing_head": "未完成采集：保安员编号", "guard_id": "保安员编号",
        "name": "姓名", "employer": "用人单位", "post": "岗位", "lacks": "缺",
        "since": "在岗起", "rate_sheet": "采集率", "missing_sheet": "未完成采集",
        "list_sep": "、", "summary": "在岗 {on_duty} 人，人像 {face}，指纹 {fingerprints}，"
                                     "均已采集 {both}，采集率 {rate}（目标 100%）",
        "missing_count": "未完成采集 {n} 人", "lacks_sep": "缺：", "city": "全市",
    },
    "en": {
        "title": "Security services market clean-up campaign statistics", "sheet": "Table",
        "unit": "Reporting unit", "cut": "Up to", "period": "Period", "to": "to",
        "cumulative": " (cumulative)", "sep": ": ",
        "pending": "Suspected mismatches awaiting a supervisor (not counted in this table)",
        "pending_sheet": "Pending suspected mismatches", "pending_cases": "Pending case ids",
        "count": "cases", "coverage": "Face and fingerprint collection of on-duty guards",
        "as_of": "as of", "district": "District", "on_duty": "On duty (persons)",
        "face": "Face collected (persons)", "fingerprints": "Fingerprints collected (persons)",
        "both": "Both collected (persons)", "rate": "Collection rate", "total": "Total",
        "missing_head": "Not yet collected: guard id", "guard_id": "Guard id", "name": "Name",
        "employer": "Employer", "post": "Post", "lacks": "Missing", "since": "On duty since",
        "rate_sheet": "Collection rate", "missing_sheet": "Not yet collected",
        "list_sep": ", ", "summary": "{on_duty} on duty, face {face}, fingerprints "
                                     "{fingerprints}, both {both}, rate {rate} (target 100%)",
        "missing_count": "{n} not yet collected", "lacks_sep": "missing: ", "city": "City-wide",
    },
}
MISSING = {"zh": {"face": "人像", "fingerprints": "指纹"},
           "en": {"face": "face", "fingerprints": "fingerprints"}}


def check(lang: str) -> str:
    """Return ``lang`` if the exports are written in it, else raise UnsupportedLanguage."""
    if lang not in LANGUAGES:
        raise UnsupportedLanguage(
            f"unsupported language {lang[:16]!r}: the reports are written in zh (default) or en")
    return lang


def columns(lang: str) -> dict[int, tuple[str, str]]:
    """Return the campaign table's (header, unit) per column in ``lang``."""
    return COLUMNS if lang == "zh" else COLUMNS_EN


def groups(lang: str) -> list[tuple[str, range]]:
    """Return the campaign table's column groups (title, columns) in ``lang``."""
    if lang == "zh":
        return GROUPS
    return [(title, cols) for title, (_, cols) in zip(GROUPS_EN, GROUPS, strict=True)]


def missing(kinds: list[str], lang: str) -> str:
    """Return the missing modalities of a guard as words in ``lang``."""
    return TEXT[lang]["list_sep"].join(MISSING[lang][x] for x in kinds)


def unit_name(report: dict, lang: str) -> str:
    """Return the report's unit as printed in ``lang`` (the city-wide unit translated)."""
    label = unit_label(report)
    return TEXT[lang]["city"] if label == TEXT["zh"]["city"] else label
