"""The 100% target: on-duty guards with a face image and fingerprints on file.

A guard counts as fingerprint-collected when at least ``min_fingers`` finger positions are on
file, and (when the policy says so) a supervisor-approved capture exception counts as a
collected finger. Figures are for the end of the report date, from dated history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, literal, or_, select
from sqlalchemy.orm import Session

from registry import paging
from reporting import state as st
from reporting.models import GuardSpan


@dataclass(frozen=True)
class Policy:
    """The collection policy (from settings)."""

    min_fingers: int = 2
    exceptions_count: bool = True


# On-duty guards at the cut, counted per district and employer in the database; the
# breakdowns are sums of these rows. {fingers} is the policy's column (never user input).
_COUNTS_SQL = """
SELECT district, employer_id, count(*),
  sum(CASE WHEN face_at IS NOT NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN {fingers} >= :need THEN 1 ELSE 0 END),
  sum(CASE WHEN face_at IS NOT NULL AND {fingers} >= :need THEN 1 ELSE 0 END)
FROM guard_spans WHERE duty_status = 'on_duty' AND """ + st.SPAN_AT + """{unit}
GROUP BY district, employer_id
"""
# Who is missing, longest waiting first (unknown start last), only as many as are shown.
_MISSING_SQL = """
SELECT guard_id, district, employer_id, post_site, on_duty_since, face_at, {fingers}
FROM guard_spans WHERE duty_status = 'on_duty' AND """ + st.SPAN_AT + """{unit}
  AND (face_at IS NULL OR {fingers} < :need)
ORDER BY CASE WHEN on_duty_since IS NULL THEN 1 ELSE 0 END, on_duty_since, guard_id
LIMIT :limit
"""


# The totals as of several cuts in one query: each cut joined to the spans covering it.
_TOTALS_AT_SQL = """
SELECT c.i, count(s.guard_id),
  sum(CASE WHEN s.face_at IS NOT NULL THEN 1 ELSE 0 END),
  sum(CASE WHEN s.{fingers} >= :need THEN 1 ELSE 0 END),
  sum(CASE WHEN s.face_at IS NOT NULL AND s.{fingers} >= :need THEN 1 ELSE 0 END)
FROM ({cuts}) c JOIN guard_spans s ON s.valid_from <= c.cut AND s.valid_to > c.cut
WHERE s.duty_status = 'on_duty'{unit}
GROUP BY c.i
"""


def _figures(on_duty: int, face: int, finger: int, both: int) -> dict:
    """Return the counts and the collection rate of a set of on-duty guards."""
    return {"on_duty": on_duty, "face": face, "fingerprints": finger, "both": both,
            "rate": round(both / on_duty, 4) if on_duty else None}


def _rollup(counts: list[tuple], key) -> dict:  # noqa: ANN001
    """Sum per-(district, employer) counts into figures per ``key(district, employer)``."""
    sums: dict = {}
    for district, employer, *c in counts:
        k = key(district, employer)
        acc = sums.setdefault(k, [0, 0, 0, 0])
        for j in range(4):
            acc[j] += int(c[j] or 0)
    return {k: _figures(*v) for k, v in sorted(sums.items())}


def coverage(db_session: Session, *, day: dt.date, unit: str | None, policy: Policy,
             missing_limit: int = 500, unit_name: str | None = None) -> dict:
    """Return coverage for a reporting unit on a day: totals, breakdowns, who is missing
    (``unit`` a district or None for the city; ``unit_name`` the name printed for it)."""
    conn = db_session.connection()
    fmt = {"fingers": st.fingers_column(policy.exceptions_count), "unit": st.unit_filter(unit)}
    params = {"cut": st.end_of(day), "unit": unit, "need": policy.min_fingers,
              "limit": missing_limit}
    counts = st.rows(conn, _COUNTS_SQL.format(**fmt), params)
    orgs = st.organisations(db_session)
    # Read each organisation's attributes once, not once per guard.
    types = {i: o.org_type.value for i, o in orgs.items()}
    labels = {i: f"{o.id}:{o.name}" for i, o in orgs.items()}
    org_names = {i: o.name for i, o in orgs.items()}
    total = _rollup(counts, lambda d, e: "*").get("*", _figures(0, 0, 0, 0))

    lacking = st.rows(conn, _MISSING_SQL.format(**fmt), params)
    who = st.names(db_session, [row[0] for row in lacking])
    shown = [{"guard_id": gid, "name": who.get(gid, ""), "district": district,
              "employer": org_names.get(employer), "post_site": post,
              "missing": ([] if face is not None else ["face"])
              + ([] if int(fingers) >= policy.min_fingers else ["fingerprints"]),
              "on_duty_since": st.at(since)}
             for gid, district, employer, post, since, face, fingers in lacking]
    return {
        "as_of": day.isoformat(), "unit": unit_name or unit or "*", "district": unit,
        "target": 1.0,
        "policy": {"min_fingers": policy.min_fingers,
                   "approved_exceptions_count": policy.exceptions_count},
        "total": total,
        "by_district": _rollup(counts, lambda d, e: d or ""),
        "by_employer_type": _rollup(counts, lambda d, e: types.get(e, "none")),
        "by_employer": _rollup(counts, lambda d, e: labels.get(e, "none")),
        "missing_count": total["on_duty"] - total["both"], "missing": shown,
    }


def totals_on(db_session: Session, *, days: list[dt.date], unit: str | None,
              policy: Policy) -> list[dict]:
    """Return the coverage totals at the end of each of ``days`` (in order), in one query."""
    if not days:
        return []
    cuts = " UNION ALL ".join(f"SELECT {i} AS i, :cut{i} AS cut" for i in range(len(days)))
    sql = _TOTALS_AT_SQL.format(fingers=st.fingers_column(policy.exceptions_count), cuts=cuts,
                                unit="" if unit is None else " AND s.district = :unit")
    params = {"unit": unit, "need": policy.min_fingers,
              **{f"cut{i}": st.end_of(d) for i, d in enumerate(days)}}
    found = {int(i): _figures(*(int(x or 0) for x in c))
             for i, *c in st.rows(db_session.connection(), sql, params)}
    return [found.get(i, _figures(0, 0, 0, 0)) for i in range(len(days))]


def missing_page(db_session: Session, *, day: dt.date, unit: str | None, policy: Policy,
                 offset: int, limit: int) -> tuple[list[dict], int]:
    """Return one page of the on-duty guards lacking a face or fingers at the end of ``day``
    (longest waiting first, unknown start last), and how many there are in all."""
    cut = st.end_of(day)
    fingers = GuardSpan.fingers_exc if policy.exceptions_count else GuardSpan.fingers
    query = select(GuardSpan).where(
        GuardSpan.duty_status == "on_duty", GuardSpan.valid_from <= cut,
        GuardSpan.valid_to > cut,
        or_(GuardSpan.face_at.is_(None), fingers < literal(policy.min_fingers)))
    if unit is not None:
        query = query.where(GuardSpan.district == unit)
    rows, total = paging.page(
        db_session, query, case((GuardSpan.on_duty_since.is_(None), 1), else_=0),
        GuardSpan.on_duty_since, GuardSpan.guard_id, offset=offset, limit=limit)
    who = st.names(db_session, [r.guard_id for r in rows])
    orgs = st.organisations(db_session)
    items = [{"guard_id": r.guard_id, "name": who.get(r.guard_id, ""), "district": r.district,
              "employer": orgs[r.employer_id].name if r.employer_id in orgs else None,
              "post_site": r.post_site,
              "missing": ([] if r.face_at is not None else ["face"])
              + ([] if (r.fingers_exc if policy.exceptions_count else r.fingers)
                 >= policy.min_fingers else ["fingerprints"]),
              "on_duty_since": r.on_duty_since} for r in rows]
    return items, total
