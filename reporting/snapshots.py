"""Frozen reports: the weekly campaign table and the daily coverage, written once, kept as
exact bytes, reproduced byte for byte. Freezing twice is a no-op (cron may retry)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit
from registry.audit import Actor
from reporting.models import ReportSnapshot

WEEKLY, DAILY = "campaign_weekly", "coverage_daily"


def canonical(doc: dict) -> str:
    """Return the one JSON text a report is stored as."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def last_freeze_day(day: dt.date, weekday: int) -> dt.date:
    """Return the most recent ``weekday`` on or before ``day``."""
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def get(db_session: Session, kind: str, unit: str, day: dt.date) -> ReportSnapshot | None:
    """Return a frozen report, if there is one."""
    return db_session.scalar(select(ReportSnapshot).where(
        ReportSnapshot.kind == kind, ReportSnapshot.unit == unit, ReportSnapshot.as_of == day))


def freeze(db_session: Session, actor: Actor, *, kind: str, unit: str, day: dt.date,
           build: Callable[[], dict]) -> tuple[ReportSnapshot, bool]:
    """Freeze the report of ``kind`` for (unit, day) once; return it and whether it is new."""
    existing = get(db_session, kind, unit, day)
    if existing is not None:
        return existing, False
    content = canonical(build())
    row = ReportSnapshot(kind=kind, unit=unit, as_of=day, content=content,
                         sha256=hashlib.sha256(content.encode()).hexdigest())
    db_session.add(row)
    try:
        db_session.flush()
    except IntegrityError:  # another process froze it first: theirs stands
        db_session.rollback()
        return get(db_session, kind, unit, day), False
    audit.record(db_session, actor, "report.freeze", resource_type="report",
                 resource_id=f"{kind}:{unit}:{day}", detail={"sha256": row.sha256},
                 district=None if unit == "*" else unit)
    db_session.commit()
    return row, True


def history(db_session: Session, kind: str, unit: str) -> list[ReportSnapshot]:
    """Return the frozen reports of a unit, oldest first (the trend)."""
    return list(db_session.scalars(select(ReportSnapshot).where(
        ReportSnapshot.kind == kind, ReportSnapshot.unit == unit)
        .order_by(ReportSnapshot.as_of)))
