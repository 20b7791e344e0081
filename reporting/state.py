"""The registry as it stood at the end of a given day, computed from dated history.

Duty status, employer, post and district come from ``guard_events`` (every change is an
event); collection from the capture times of biometrics and the decision times of finger
exceptions; certificates from their events. Nothing is read from "current" columns, so a
past day's figures are computed, not guessed, and do not change when the present does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from registry.models import Guard, Organisation


@dataclass(slots=True)
class GuardState:
    """One guard as of the report date."""

    id: int
    name: str = ""
    duty_status: str | None = None
    employer_id: int | None = None
    post_site: str | None = None
    district: str | None = None
    on_duty_since: dt.datetime | None = None
    face_at: object = None  # first face capture (driver value; None: no face on file)
    fingers: int = 0  # finger positions on file (plus approved exceptions, per policy)
    certificate: str | None = None  # valid | suspended | revoked | None


def end_of(day: dt.date) -> dt.datetime:
    """Return the last instant of ``day`` (naive UTC, as stored)."""
    return dt.datetime.combine(day, dt.time.max)


# The latest event of each kind per guard at the cut, pivoted to one row per guard. Plain
# SQL (portable between SQLite and PostgreSQL) because at city scale the ORM's row handling
# costs more than the query.
_STATE_SQL = """
SELECT e.guard_id,
  max(CASE WHEN e.kind = 'duty_status' THEN e.value END),
  max(CASE WHEN e.kind = 'duty_status' THEN e.at END),
  max(CASE WHEN e.kind = 'employer_id' THEN e.value END),
  max(CASE WHEN e.kind = 'district' THEN e.value END),
  max(CASE WHEN e.kind = 'post_site' THEN e.value END)
FROM guard_events e
JOIN (SELECT max(id) AS id FROM guard_events WHERE at <= :cut GROUP BY guard_id, kind) last
  ON last.id = e.id
GROUP BY e.guard_id
"""
_FACE_SQL = """
SELECT guard_id, min(captured_at) FROM biometrics
WHERE modality = 'face' AND captured_at <= :cut GROUP BY guard_id
"""
_FINGERS_SQL = """
SELECT guard_id, count(DISTINCT position) FROM (
  SELECT guard_id, position FROM biometrics WHERE modality = 'finger' AND captured_at <= :cut
  {exceptions}
) AS f GROUP BY guard_id
"""
_EXCEPTIONS_SQL = """UNION SELECT guard_id, position FROM finger_exceptions
  WHERE status = 'approved' AND decided_at <= :cut"""
_CERT_SQL = """
SELECT c.guard_id, min(CASE ev.event WHEN 'revoke' THEN 2 WHEN 'suspend' THEN 1 ELSE 0 END)
FROM certificate_events ev
JOIN (SELECT max(id) AS id FROM certificate_events WHERE at <= :cut
      AND event IN ('issued', 'reinstate', 'suspend', 'revoke') GROUP BY certificate_id) l
  ON l.id = ev.id
JOIN certificates c ON c.id = ev.certificate_id
GROUP BY c.guard_id
"""
CERT_RANK = ("valid", "suspended", "revoked")
# Today's state is the registry's current columns (they change only together with an event),
# which spares scanning the whole history.
_CURRENT_SQL = """
SELECT id, duty_status, employer_id, district, post_site FROM guards
"""
_ON_DUTY_SINCE_SQL = """
SELECT guard_id, max(at) FROM guard_events
WHERE kind = 'duty_status' AND value = 'on_duty' AND at <= :cut AND guard_id IN ({ids})
GROUP BY guard_id
"""


def _at(value) -> dt.datetime | None:  # noqa: ANN001
    """Return a timestamp from a driver value (SQLite hands back text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _rows(conn, sql: str, params: dict | None = None) -> list[tuple]:  # noqa: ANN001
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


def guards_as_of(db_session: Session, day: dt.date, *, unit: str | None = None,
                 exceptions_count: bool = True) -> dict[int, GuardState]:
    """Return every guard with a history by the end of ``day`` (in ``unit``), as then."""
    cut = end_of(day)
    conn = db_session.connection()
    out: dict[int, GuardState] = {}
    # fetchall() in bulk: at city scale, per-row iteration costs more than the queries.
    if day >= dt.datetime.now(dt.UTC).date():
        for gid, duty, employer, district, post in _rows(conn, _CURRENT_SQL):
            if unit is None or district == unit:
                out[gid] = GuardState(gid, "", str(duty), employer, post, district)
    else:
        for gid, duty, duty_at, employer, district, post in _rows(
                conn, _STATE_SQL, {"cut": cut}):
            if unit is None or district == unit:
                out[gid] = GuardState(gid, "", duty, int(employer) if employer else None,
                                      post, district,
                                      _at(duty_at) if duty == "on_duty" else None)
    for gid, at in _rows(conn, _FACE_SQL, {"cut": cut}):
        g = out.get(gid)
        if g is not None:
            g.face_at = at  # only whether it exists matters to the figures
    sql = _FINGERS_SQL.format(exceptions=_EXCEPTIONS_SQL if exceptions_count else "")
    for gid, count in _rows(conn, sql, {"cut": cut}):
        g = out.get(gid)
        if g is not None:
            g.fingers = int(count)
    for gid, rank in _rows(conn, _CERT_SQL, {"cut": cut}):
        g = out.get(gid)
        if g is not None:
            g.certificate = CERT_RANK[int(rank)]
    return out


def on_duty_since(db_session: Session, states: list[GuardState], day: dt.date) -> None:
    """Fill in when each of ``states`` last went on duty (where not already known)."""
    todo = [g for g in states if g.duty_status == "on_duty" and g.on_duty_since is None]
    by_id = {g.id: g for g in todo}
    conn = db_session.connection()
    for lo in range(0, len(todo), 900):
        ids = ",".join(str(g.id) for g in todo[lo:lo + 900])  # ints from the database
        for gid, at in conn.execute(text(_ON_DUTY_SINCE_SQL.format(ids=ids)),
                                    {"cut": end_of(day)}):
            by_id[gid].on_duty_since = _at(at)


def names(db_session: Session, ids: list[int]) -> dict[int, str]:
    """Return the names of a few guards (for lists shown to people)."""
    if not ids:
        return {}
    return dict(db_session.execute(select(Guard.id, Guard.name).where(Guard.id.in_(ids))).all())


def organisations(db_session: Session) -> dict[int, Organisation]:
    """Return every organisation by id (types and districts are read as they are now)."""
    return {o.id: o for o in db_session.scalars(select(Organisation))}


def by_unit(states: dict[int, GuardState], unit: str | None) -> list[GuardState]:
    """Return the guards of a reporting unit (a district, or the city when None)."""
    return [g for g in states.values() if unit is None or g.district == unit]


def group(items: list[GuardState], key) -> dict:  # noqa: ANN001
    """Group guard states by a key function."""
    out: dict = defaultdict(list)
    for g in items:
        out[key(g)].append(g)
    return out
