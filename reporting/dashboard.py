"""The dashboard, rendered on the server as HTML with inline SVG charts (no scripts, no CDN):
the collection rate against the 100% target, bars by district and employer, the weekly
trend, who is missing, and the campaign table."""

from __future__ import annotations

import math
from html import escape

from reporting.campaign import COLUMNS

BAR_W, ROW_H = 260, 18
MAX_BARS, MAX_MISSING = 20, 50
TREND_LABELS = 8  # dates written under the trend line (more would overlap)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def gauge(rate: float | None) -> str:
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
            f"<text x='100' y='112' text-anchor='middle' font-size='11'>目标 100%</text></svg>")


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


def trend_line(points: list[dict]) -> str:
    """Return the collection rate over the range's days as a line (a few dates labelled)."""
    if not points:
        return "<p class='muted'>无数据 (no days in the range)</p>"
    w, h = 520, 120
    n = len(points)
    every = max(1, -(-n // TREND_LABELS))
    xy = [(20 + (w - 40) * (i / max(1, n - 1)), h - 20 - (h - 40) * (p["rate"] or 0))
          for i, p in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    labels = "".join(f"<text x='{x:.1f}' y='{h - 4}' font-size='10' text-anchor='middle'>"
                     f"{escape(p['as_of'][5:])}</text>"
                     for i, ((x, _), p) in enumerate(zip(xy, points, strict=True))
                     if i % every == 0 or i == n - 1)
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


def render(cov: dict, table: dict, trend: list[dict]) -> str:
    """Return the dashboard fragment for one unit and day."""
    t = cov["total"]
    missing = "".join(
        f"<tr><td>{m['guard_id']}</td><td>{escape(m['name'])}</td>"
        f"<td>{escape(m['employer'] or '')}</td><td>{escape('、'.join(m['missing']))}</td>"
        f"<td>{escape(str(m['on_duty_since'] or ''))[:10]}</td></tr>"
        for m in cov["missing"][:MAX_MISSING])
    return (f"<section id='summary'><h2>{escape(cov['unit'])} · {escape(cov['as_of'])}</h2>"
            f"{gauge(t['rate'])}<p>在岗 <b id='on-duty'>{t['on_duty']}</b> 人 · 人像 "
            f"<b id='face'>{t['face']}</b> · 指纹 <b id='fingers'>{t['fingerprints']}</b> · "
            f"均已采集 <b id='both'>{t['both']}</b></p></section>"
            f"<section><h3>按辖区 by district</h3>{bars(cov['by_district'], 'districts')}"
            f"</section><section><h3>按单位类型 by employer type</h3>"
            f"{bars(cov['by_employer_type'], 'employer types')}</section>"
            f"<section><h3>按用人单位 by employer</h3>{bars(cov['by_employer'], 'employers')}"
            f"</section><section><h3>趋势 trend</h3>{trend_line(trend)}</section>"
            f"<section><h3>未完成采集 missing (<span id='missing-count'>{cov['missing_count']}"
            f"</span>)</h3><table class='missing'><tr><th>id</th><th>姓名</th><th>用人单位</th>"
            f"<th>缺</th><th>在岗起</th></tr>{missing}</table></section>"
            f"<section><h3>专项行动统计表 campaign table</h3>{table_html(table)}</section>")
