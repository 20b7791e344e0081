"""Reports for the police: coverage, the campaign table and its cells, frozen weeks, trend,
exports and the dashboard fragment."""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.deps import Limit, Offset, RuntimeDep, SessionDep, role_dep
from enrollment.archive_pdf import find_font
from registry.fieldtypes import UtcOutput
from registry.models import Role
from registry.schemas import Page
from reporting import dashboard, exports, labels, printed, service
from reporting.campaign import unit_label
from reporting.state import last_ended_day

router = APIRouter(tags=["reporting"])
Police = role_dep(Role.admin, Role.police)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Day = Query(default=None, description="report date (default: today, UTC)")
DASHBOARD_TREND_DAYS = dt.timedelta(days=29)  # the dashboard's default trend: 30 days
Lang = Query(default="zh",
             description="language of an export's labels: zh (default) or en")
EndedDay = Query(default=None, description="a day that has ended (default: yesterday, UTC)")


def _day(day: dt.date | None) -> dt.date:
    return day or dt.datetime.now(dt.UTC).date()


@router.get("/reports/coverage")
def coverage(session: SessionDep, runtime: RuntimeDep, actor: Police,
             date: dt.date | None = Day, district: str | None = None,
             format: Literal["json", "csv", "xlsx", "pdf"] = "json",  # noqa: A002
             lang: str = Lang):
    """Collection coverage of on-duty guards: totals, breakdowns, who is missing since when."""
    lang = labels.check(lang)
    day = _day(date)
    c = service.coverage_report(db_session=session, settings=runtime.settings, actor=actor,
                                day=day, district=district)
    service.record_read(db_session=session, actor=actor, what="coverage", day=day,
                        district=district)
    if format == "csv":
        return Response(exports.coverage_csv(c, lang), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        return Response(printed.coverage_xlsx(c, lang), media_type=XLSX)
    if format == "pdf":
        pdf = exports.coverage_pdf(c, find_font(runtime.settings.pdf_font_file), lang)
        return Response(pdf, media_type="application/pdf")
    return c


@router.get("/reports/campaign")
def campaign(session: SessionDep, runtime: RuntimeDep, actor: Police,
             date: dt.date | None = Day, district: str | None = None,
             format: Literal["json", "csv", "xlsx", "pdf"] = "json",  # noqa: A002
             lang: str = Lang):
    """The 23-column campaign table, cumulative to the date (a frozen week is returned as
    frozen, byte for byte)."""
    lang = labels.check(lang)
    day = _day(date)
    text, frozen = service.campaign_table(db_session=session, settings=runtime.settings,
                                          actor=actor, day=day, district=district)
    service.record_read(db_session=session, actor=actor, what="campaign", day=day,
                        district=district)
    headers = {"X-Guardid-Frozen": "true" if frozen else "false"}
    if format == "csv":
        return Response(exports.campaign_csv(json.loads(text), lang),
                        media_type="text/csv; charset=utf-8", headers=headers)
    if format == "xlsx":
        return Response(exports.campaign_xlsx(json.loads(text), lang), media_type=XLSX,
                        headers=headers)
    if format == "pdf":
        pdf = printed.campaign_pdf(json.loads(text),
                                  find_font(runtime.settings.pdf_font_file), lang)
        return Response(pdf, media_type="application/pdf", headers=headers)
    return Response(text.encode(), media_type="application/json", headers=headers)


class MissingOut(BaseModel):
    """An on-duty guard lacking a face image or fingerprints on the report date."""

    guard_id: int
    name: str
    district: str | None
    employer: str | None
    post_site: str | None
    missing: list[Literal["face", "fingerprints"]]
    on_duty_since: UtcOutput | None


@router.get("/reports/missing", response_model=Page[MissingOut])
def missing(session: SessionDep, runtime: RuntimeDep, actor: Police,
            date: dt.date | None = Day, district: str | None = None, offset: Offset = 0,
            limit: Limit = 50):
    """Who is missing a face or fingers on the date, a page at a time (longest waiting
    first); the key's district only."""
    items, total = service.missing_page(db_session=session, settings=runtime.settings,
                                        actor=actor, day=_day(date), district=district,
                                        offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/reports/campaign/cells/{column}")
def cell(column: int, session: SessionDep, runtime: RuntimeDep, actor: Police,
         date: dt.date | None = Day, district: str | None = None):
    """The records behind one cell of the campaign table."""
    return service.cell_records(db_session=session, settings=runtime.settings, actor=actor,
                                day=_day(date), district=district, column=column)


class FrozenOut(BaseModel):
    """A frozen report: its day, unit, content hash, and whether this call froze it."""

    as_of: dt.date
    unit: str
    sha256: str
    new: bool


@router.post("/reports/campaign/freeze", response_model=FrozenOut)
def freeze(session: SessionDep, runtime: RuntimeDep, actor: Police,
           date: dt.date | None = Day, district: str | None = None):
    """Freeze the weekly table for the last freeze weekday on or before the date."""
    return service.freeze_week(db_session=session, settings=runtime.settings, actor=actor,
                               day=_day(date), district=district)


@router.post("/reports/coverage/snapshot", response_model=FrozenOut)
def snapshot(session: SessionDep, runtime: RuntimeDep, actor: Police,
             date: dt.date | None = EndedDay, district: str | None = None):
    """Freeze an ended day's coverage (idempotent); the trend reads these."""
    return service.snapshot_day(db_session=session, settings=runtime.settings, actor=actor,
                                day=date or last_ended_day(), district=district)


@router.get("/reports/trend")
def trend(session: SessionDep, runtime: RuntimeDep, actor: Police, district: str | None = None,
          start: dt.date | None = Query(default=None, description="first day of a range"),
          end: dt.date | None = Query(default=None, description="last day (default: today)")):
    """The collection rate over a range, computed as of each day from the dated history (at
    most 31 points, evenly spaced); with no range, every frozen day, oldest first."""
    if start is None:
        return service.trend(db_session=session, actor=actor, district=district)
    return service.trend_range(db_session=session, settings=runtime.settings, actor=actor,
                               district=district, start=start, end=_day(end))


@router.get("/reports/dashboard.html", response_class=HTMLResponse)
def dashboard_fragment(session: SessionDep, runtime: RuntimeDep, actor: Police,
                       date: dt.date | None = Day, district: str | None = None,
                       employer_type: str | None = None,
                       trend_start: dt.date | None = Query(
                           default=None, description="trend from (default: 29 days before)"),
                       lang: Literal["zh", "en"] = Query(
                           default="zh", description="language of the labels (Chinese first)")):
    """The dashboard's content for one unit and day, rendered on the server; the trend is
    computed from the dated history (no snapshot needed)."""
    lang = labels.check(lang)
    day = _day(date)
    c = service.coverage_report(db_session=session, settings=runtime.settings, actor=actor,
                                day=day, district=district)
    if employer_type:
        c["by_employer_type"] = {k: v for k, v in c["by_employer_type"].items()
                                 if k == employer_type}
    text, _ = service.campaign_table(db_session=session, settings=runtime.settings,
                                     actor=actor, day=day, district=district)
    points = service.trend_range(db_session=session, settings=runtime.settings, actor=actor,
                                 district=district, end=day,
                                 start=trend_start or day - DASHBOARD_TREND_DAYS)
    service.record_read(db_session=session, actor=actor, what="dashboard", day=day,
                        district=district)
    return HTMLResponse(dashboard.render(c, json.loads(text), points,
                                         unit_name=unit_label(c), lang=lang))
