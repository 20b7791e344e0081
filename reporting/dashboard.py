"""The dashboard, rendered on the server as HTML with inline SVG charts (no scripts, no CDN):
the collection rate against the 100% target, bars by district and employer, the weekly
trend, who is missing, and the campaign table."""

from __future__ import annotations

import math
from html import escape

from reporting.campaign import COLUMNS

BAR_W, ROW_H = 260, 18
MAX_BARS = 20
TREND_LABELS = 8  # dates written under the trend line (more would overlap)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def gauge(rate: float | None, target: str = "目标 100%") -> str:
    """Return a half-circle gauge of ``rate`` against 100%."""
    r, cx, cy = 80, 100, 95
    share = max(0.0, min(1.0, rate or 0.0))
    angle = math.pi * (1 - share)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    large = 0
    return (f"<svg class='gauge' width='200' height='115' role='img' aria-label='collection "
            f"rate {_pct(rate)}'><path d='M20 95 A80 80 0 0 1 180 95' stroke='#ddd' "
            f"stroke-width='16' fill='none'/><path d='M20 95 A80 80 0 {large} 1 {x:.1f} "
            f"{y:.1f}' stroke='#2a7a3a' stroke-width='16' fill='none'/><text x='100' y='90' "
            f"text-anchor='middle' font-size='22' id='rate'>{_pct(rate)}</text>"
            f"<text x='100' y='112' text-anchor='middle' font-size='11'>{escape(target)}"
            "</text></svg>")


def bars(rows: dict[str, dict], label: str) -> str:
    """Return horizontal bars of the collection rate, one per row."""
    items = list(rows.items())[:MAX_BARS]
    h = ROW_H * len(items) + 4
    parts = [f"<svg width='{BAR_W + 260}' height='{h}' role='img' aria-label='{escape(label)}'>"]
    for i, (name, f) in enumerate(items):
        y, share = i * ROW_H, f["rate"] or 0.0
        parts.append(f"<text class='name' x='0' y='{y + 13}' font-size='12'>"
                     f"{escape(name)[:24]}</text>"
                     f"<rect x='170' y='{y + 3}' width='{BAR_W}' height='12' fill='#eee'/>"
                     f"<rect x='170' y='{y + 3}' width='{BAR_W * share:.1f}' height='12' "
                     f"fill='#2a7a3a'/><text x='{BAR_W + 176}' y='{y + 13}' font-size='12'>"
                     f"{_pct(f['rate'])} ({f['both']}/{f['on_duty']})</text>")
    return "".join(parts) + "</svg>"


def trend_line(points: list[dict], empty: str = "所选范围内无数据") -> str:
    """Return the collection rate over the range's days as a line (a few dates labelled)."""
    if not points:
        return f"<p class='muted'>{escape(empty)}</p>"
    w, h = 520, 120
    n = len(points)
    every = max(1, -(-n // TREND_LABELS))
    xy = [(20 + (w - 40) * (i / max(1, n - 1)), h - 20 - (h - 40) * (p["rate"] or 0))
          for i, p in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    labels = "".join(f"<text x='{x:.1f}' y='{h - 4}' font-size='10' text-anchor='middle'>"
                     f"{escape(p['as_of'][5:])}</text>"
                     for i, ((x, _), p) in enumerate(zip(xy, points, strict=True))
                     if (i % every == 0 and n - 1 - i >= every / 2) or i == n - 1)
    return (f"<svg width='{w}' height='{h}' role='img' aria-label='trend'><polyline "
            f"id='trend' data-points='{n}' points='{line}' fill='none' stroke='#2a7a3a' "
            f"stroke-width='2'/>{labels}</svg>")


def table_html(t: dict) -> str:
    """Return the campaign table as an HTML table."""
    head = "".join(f"<th>{n}. {escape(h)}{f'（{u}）' if u else ''}</th>"
                   for n, (h, u) in COLUMNS.items())
    row = "".join(f"<td data-col='{n}'>{escape(str(t['cells'][str(n)]))}</td>"
                  for n in range(1, 24))
    pending = t.get("pending_suspected_mismatches")
    note = "" if pending is None else (
        f"<p class='beside'>待主管确认的疑似人证不符（未计入本表）: "
        f"<b id='pending-mismatches'>{pending['count']}</b></p>")
    return f"<table class='campaign'><tr>{head}</tr><tr>{row}</tr></table>{note}"


# Labels of the fragment in each language (Chinese first; English on the page's switch).
TEXT = {
    "zh": {"on_duty": "在岗", "persons": "人", "face": "人像", "fingers": "指纹",
           "both": "均已采集", "by_district": "按辖区", "by_type": "按单位类型",
           "by_employer": "按用人单位", "trend": "采集率趋势", "missing": "未完成采集",
           "table": "专项行动统计表", "as_of": "截至", "target": "目标 100%",
           "no_days": "所选范围内无数据"},
    "en": {"on_duty": "on duty", "persons": "", "face": "face", "fingers": "fingerprints",
           "both": "both collected", "by_district": "By district", "by_type": "By employer type",
           "by_employer": "By employer", "trend": "Collection rate trend",
           "missing": "Not yet collected", "table": "Campaign statistics table",
           "as_of": "as of", "target": "target 100%", "no_days": "no days in the range"},
}
EMPLOYER_TYPES = {
    "zh": {"security_company": "保安公司", "self_recruiting": "自招保安单位",
           "property_management": "物业公司", "unqualified": "无资质单位",
           "none": "无用人单位"},
    "en": {"security_company": "security company", "self_recruiting": "self-recruiting unit",
           "property_management": "property management company",
           "unqualified": "unqualified unit", "none": "no employer"},
}


def _relabel(rows: dict[str, dict], labels: dict[str, str]) -> dict[str, dict]:
    """Return ``rows`` keyed by their display labels."""
    return {labels.get(k, k): v for k, v in rows.items()}


def render(cov: dict, table: dict, trend: list[dict], *, unit_name: str,
           lang: str = "zh") -> str:
    """Return the dashboard fragment for one unit and day, in ``lang`` (zh or en); the
    missing list itself is paged by the page (GET /reports/missing)."""
    tx = TEXT[lang]
    t = cov["total"]
    employers = {k: k.split(":", 1)[-1] for k in cov["by_employer"]}
    return (f"<section id='summary'><h2><span id='unit-name'>{escape(unit_name)}</span> · "
            f"{tx['as_of']} {escape(cov['as_of'])}</h2>"
            f"{gauge(t['rate'], tx['target'])}<p>{tx['on_duty']} <b id='on-duty'>{t['on_duty']}"
            f"</b> {tx['persons']} · {tx['face']} <b id='face'>{t['face']}</b> · "
            f"{tx['fingers']} <b id='fingers'>{t['fingerprints']}</b> · {tx['both']} "
            f"<b id='both'>{t['both']}</b> · {tx['missing']} <b id='missing-count'>"
            f"{cov['missing_count']}</b></p></section>"
            f"<section><h3>{tx['by_district']}</h3>{bars(cov['by_district'], 'districts')}"
            f"</section><section><h3>{tx['by_type']}</h3>"
            f"{bars(_relabel(cov['by_employer_type'], EMPLOYER_TYPES[lang]), 'employer types')}"
            f"</section><section><h3>{tx['by_employer']}</h3>"
            f"{bars(_relabel(cov['by_employer'], employers), 'employers')}</section>"
            f"<section><h3>{tx['trend']}</h3>{trend_line(trend, tx['no_days'])}</section>"
            f"<section><h3>{tx['table']}</h3>{table_html(table)}</section>")
