"""The 100% target: on-duty guards with a face image and fingerprints on file.

A guard counts as fingerprint-collected when at least ``min_fingers`` finger positions are on
file, and (when the policy says so) a supervisor-approved capture exception counts as a
collected finger. Figures are for the end of the report date, from dated history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from reporting import state as st


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
             missing_limit: int = 500) -> dict:
    """Return coverage for a reporting unit on a day: totals, breakdowns, who is missing."""
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
        "as_of": day.isoformat(), "unit": unit or "*", "target": 1.0,
        "policy": {"min_fingers": policy.min_fingers,
                   "approved_exceptions_count": policy.exceptions_count},
        "total": total,
        "by_district": _rollup(counts, lambda d, e: d or ""),
        "by_employer_type": _rollup(counts, lambda d, e: types.get(e, "none")),
        "by_employer": _rollup(counts, lambda d, e: labels.get(e, "none")),
        "missing_count": total["on_duty"] - total["both"], "missing": shown,
    }
