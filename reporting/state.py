"""The registry as it stood at the end of a given day, read from dated state.

Every figure comes from ``guard_spans`` (``reporting.spans`` derives them from duty,
employer and post events, biometric capture times, exception decisions and certificate
events, in the transaction that records them). Nothing is read from "current" columns, so a
past day's figures are computed, not guessed, and do not change when the present does; the
state on a day is the span of each guard with ``valid_from <= cut < valid_to``: one scan.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Guard, Organisation


def last_ended_day(now: dt.datetime | None = None) -> dt.date:
    """Return the latest day (UTC, as reports count days) that has fully ended."""
    now = now or dt.datetime.now(dt.UTC)
    return now.date() - dt.timedelta(days=1)


def end_of(day: dt.date) -> dt.datetime:
    """Return the last instant of ``day`` (naive UTC, as stored)."""
    return dt.datetime.combine(day, dt.time.max)


# The span of each guard that covers the cut. Reports query it in plain SQL (portable
# between SQLite and PostgreSQL) on the driver cursor: at city scale the ORM's row handling
# costs more than the query.
SPAN_AT = "valid_from <= :cut AND valid_to > :cut"


def fingers_column(exceptions_count: bool) -> str:
    """Return the span column that counts fingers under the policy."""
    return "fingers_exc" if exceptions_count else "fingers"


def unit_filter(unit: str | None) -> str:
    """Return the SQL condition restricting spans to a reporting unit (bound as :unit)."""
    return "" if unit is None else " AND district = :unit"


def at(value) -> dt.datetime | None:  # noqa: ANN001
    """Return a timestamp from a driver value (SQLite hands back text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def rows(conn, sql: str, params: dict | None = None) -> list[tuple]:  # noqa: ANN001
    """Run read-only SQL on the raw driver cursor and return plain tuples.

    At city scale SQLAlchemy's per-row result handling costs more than the query itself.
    ``:name`` parameters are rewritten for psycopg's ``%(name)s`` style.
    """
    if conn.dialect.name == "postgresql":
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, params or {})
        return cursor.fetchall()
    finally:
        cursor.close()


def names(db_session: Session, ids: list[int]) -> dict[int, str]:
    """Return the names of a few guards (for lists shown to people)."""
    if not ids:
        return {}
    return dict(db_session.execute(select(Guard.id, Guard.name).where(Guard.id.in_(ids))).all())


def organisations(db_session: Session) -> dict:
    """Return every organisation's id, name and type by id (types are read as they are now)."""
    return {o.id: o for o in db_session.execute(
        select(Organisation.id, Organisation.name, Organisation.org_type))}
