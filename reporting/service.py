"""Reports for the police: coverage, the campaign table, frozen weeks, the trend."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from registry import audit
from registry.audit import Actor
from registry.policy import district_filter
from registry.settings import Settings
from reporting import campaign, coverage, snapshots, state
from reporting.exceptions import BadRange, DayNotEnded, UnknownColumn

# A trend over a range is one query for all its points (each point the spans covering its
# day's end); a longer range is sampled evenly (its last day always included).
TREND_MAX_POINTS = 31


def policy(settings: Settings) -> coverage.Policy:
    """Return the collection policy from the settings."""
    return coverage.Policy(settings.collection_min_fingers, settings.collection_exceptions_count)


def unit_of(actor: Actor, district: str | None) -> str | None:
    """Return the reporting unit a caller may see (their district when the key is scoped)."""
    return district_filter(actor, district)


CITY_UNIT = "全市"  # the city level's name on a report when GUARDID_REPORT_UNITS names none


def unit_name(settings: Settings, unit: str | None) -> str:
    """Return the reporting unit's name for a district (None: the city level)."""
    return settings.report_units.get(unit or "*") or unit or CITY_UNIT


def record_read(*, db_session: Session, actor: Actor, what: str, day: dt.date,
                district: str | None) -> None:
    """Audit that the caller read report ``what`` of ``day`` for its unit, and commit."""
    unit = unit_of(actor, district)
    audit.record(db_session, actor, f"report.{what}", resource_type="report",
                 resource_id=unit or "*", detail={"date": day.isoformat()}, district=unit)
    db_session.commit()


def coverage_report(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                    district: str | None) -> dict:
    """Return coverage for the caller's unit on ``day`` (a frozen day as it was frozen)."""
    unit = unit_of(actor, district)
    frozen = snapshots.get(db_session, snapshots.DAILY, unit or "*", day)
    if frozen is not None:
        return {**json.loads(frozen.content), "frozen": True}
    return coverage.coverage(db_session, day=day, unit=unit, policy=policy(settings),
                             unit_name=unit_name(settings, unit))


def campaign_table(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                   district: str | None) -> tuple[str, bool]:
    """Return the table as canonical JSON text, and whether it is a frozen week's."""
    unit = unit_of(actor, district)
    frozen = snapshots.get(db_session, snapshots.WEEKLY, unit or "*", day)
    if frozen is not None:
        return frozen.content, True
    return snapshots.canonical(campaign.table(db_session, day=day, unit=unit,
                                              start=settings.campaign_start,
                                              unit_name=unit_name(settings, unit))), False


def missing_page(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                 district: str | None, offset: int, limit: int) -> tuple[list[dict], int]:
    """Return one page of who is missing a face or fingers in the caller's unit on ``day``,
    and the total; the read of the names shown is audited."""
    unit = unit_of(actor, district)
    items, total = coverage.missing_page(db_session, day=day, unit=unit,
                                         policy=policy(settings), offset=offset, limit=limit)
    audit.record(db_session, actor, "report.missing", resource_type="report",
                 resource_id=unit or "*",
                 detail={"date": day.isoformat(), "offset": offset,
                         "ids": [m["guard_id"] for m in items]}, district=unit)
    db_session.commit()
    return items, total


def cell_records(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                 district: str | None, column: int) -> dict:
    """Return the records behind one cell of the table (for a frozen week, as frozen)."""
    if not 1 <= column <= 22:
        raise UnknownColumn(f"column {column} has no records (columns 1-22)")
    text, frozen = campaign_table(db_session=db_session, settings=settings, actor=actor,
                                  day=day, district=district)
    t = json.loads(text)
    return {"column": column, "header": campaign.COLUMNS[column][0],
            "value": t["cells"][str(column)], "frozen": frozen,
            "records": t["records"][str(column)]}


def freeze_week(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                district: str | None) -> dict:
    """Freeze the weekly table for the last freeze weekday on or before ``day``."""
    unit = unit_of(actor, district)
    week = snapshots.last_freeze_day(day, settings.campaign_freeze_weekday)
    row, new = snapshots.freeze(
        db_session, actor, kind=snapshots.WEEKLY, unit=unit or "*", day=week,
        build=lambda: campaign.table(db_session, day=week, unit=unit,
                                     start=settings.campaign_start,
                                     unit_name=unit_name(settings, unit)))
    return {"as_of": week.isoformat(), "unit": row.unit, "sha256": row.sha256, "new": new}


def snapshot_day(*, db_session: Session, settings: Settings, actor: Actor, day: dt.date,
                 district: str | None) -> dict:
    """Freeze an ended day's coverage (the trend line reads these); today is refused.

    A snapshot is kept forever as exact bytes, so it may only describe a day whose figures no
    longer change: a day still running (or to come) raises DayNotEnded.
    """
    if day > state.last_ended_day():
        raise DayNotEnded(f"{day.isoformat()} has not ended (UTC); the latest day that can be "
                          f"frozen is {state.last_ended_day().isoformat()}")
    unit = unit_of(actor, district)
    row, new = snapshots.freeze(
        db_session, actor, kind=snapshots.DAILY, unit=unit or "*", day=day,
        build=lambda: coverage.coverage(db_session, day=day, unit=unit,
                                        policy=policy(settings),
                                        unit_name=unit_name(settings, unit)))
    return {"as_of": day.isoformat(), "unit": row.unit, "sha256": row.sha256, "new": new}


def trend(*, db_session: Session, actor: Actor, district: str | None) -> list[dict]:
    """Return the collection rate of every frozen day, oldest first."""
    unit = unit_of(actor, district) or "*"
    return [{"as_of": r.as_of.isoformat(), **json.loads(r.content)["total"]}
            for r in snapshots.history(db_session, snapshots.DAILY, unit)]


def trend_range(*, db_session: Session, settings: Settings, actor: Actor,
                district: str | None, start: dt.date, end: dt.date) -> list[dict]:
    """Return the collection rate as of evenly spaced days from ``start`` to ``end``,
    computed from the dated history (no snapshot needed; a frozen day reads as frozen)."""
    if end < start:
        raise BadRange(f"the range ends ({end.isoformat()}) before it starts "
                       f"({start.isoformat()})")
    unit = unit_of(actor, district)
    span = (end - start).days
    step = max(1, -(-span // (TREND_MAX_POINTS - 1)))
    days = [start + dt.timedelta(days=i) for i in range(0, span + 1, step)]
    if days[-1] != end:
        days[-1] = end
    # A frozen day reads as frozen; every other day is computed, all of them in one query.
    frozen = {r.as_of: json.loads(r.content)["total"]
              for r in snapshots.history(db_session, snapshots.DAILY, unit or "*")
              if start <= r.as_of <= end}
    computed = coverage.totals_on(db_session, days=[d for d in days if d not in frozen],
                                  unit=unit, policy=policy(settings))
    rest = iter(computed)
    return [{"as_of": d.isoformat(), **frozen[d], "frozen": True} if d in frozen
            else {"as_of": d.isoformat(), **next(rest), "frozen": False} for d in days]
