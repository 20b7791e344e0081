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


def fingers_ok(g: st.GuardState, policy: Policy) -> bool:
    """True when the guard's fingerprints count as collected under the policy (approved
    exceptions were already counted in by ``guards_as_of`` when the policy says so)."""
    return g.fingers >= policy.min_fingers


def figures(guards: list[st.GuardState], policy: Policy) -> dict:
    """Return the counts and the collection rate of a set of on-duty guards."""
    need = policy.min_fingers
    face = finger = both = 0
    for g in guards:
        has_face, has_fingers = g.face_at is not None, g.fingers >= need
        face += has_face
        finger += has_fingers
        both += has_face and has_fingers
    n = len(guards)
    return {"on_duty": n, "face": face, "fingerprints": finger, "both": both,
            "rate": round(both / n, 4) if n else None}


def missing(guards: list[st.GuardState], policy: Policy, names: dict[int, str]) -> list[dict]:
    """Return on-duty guards lacking a face or fingerprints, longest waiting first."""
    out = []
    for g in guards:
        lacks = ([] if g.face_at is not None else ["face"]) + (
            [] if fingers_ok(g, policy) else ["fingerprints"])
        if lacks:
            out.append({"guard_id": g.id, "name": "", "district": g.district,
                        "employer": names.get(g.employer_id), "post_site": g.post_site,
                        "missing": lacks, "on_duty_since": g.on_duty_since})
    return out  # in the order given (callers sort: longest waiting first)


def coverage(db_session: Session, *, day: dt.date, unit: str | None, policy: Policy,
             missing_limit: int = 500) -> dict:
    """Return coverage for a reporting unit on a day: totals, breakdowns, who is missing."""
    states = st.guards_as_of(db_session, day, unit=unit,
                             exceptions_count=policy.exceptions_count)
    orgs = st.organisations(db_session)
    on_duty = [g for g in states.values() if g.duty_status == "on_duty"]

    # Read each organisation's attributes once, not once per guard.
    types = {i: o.org_type.value for i, o in orgs.items()}
    labels = {i: f"{o.id}:{o.name}" for i, o in orgs.items()}
    names = {i: o.name for i, o in orgs.items()}

    def org_type(g: st.GuardState) -> str:
        return types.get(g.employer_id, "none")

    def employer(g: st.GuardState) -> str:
        return labels.get(g.employer_id, "none")

    lacking = [g for g in on_duty if g.face_at is None or not fingers_ok(g, policy)]
    st.on_duty_since(db_session, lacking, day)
    lacking.sort(key=lambda g: (g.on_duty_since or dt.datetime.max, g.id))
    shown = missing(lacking[:missing_limit], policy, names)
    who = st.names(db_session, [m["guard_id"] for m in shown])
    for m in shown:
        m["name"] = who.get(m["guard_id"], "")
    return {
        "as_of": day.isoformat(), "unit": unit or "*", "target": 1.0,
        "policy": {"min_fingers": policy.min_fingers,
                   "approved_exceptions_count": policy.exceptions_count},
        "total": figures(on_duty, policy),
        "by_district": {k: figures(v, policy) for k, v in
                        sorted(st.group(on_duty, lambda g: g.district or "").items())},
        "by_employer_type": {k: figures(v, policy) for k, v in
                             sorted(st.group(on_duty, org_type).items())},
        "by_employer": {k: figures(v, policy) for k, v in
                        sorted(st.group(on_duty, employer).items())},
        "missing_count": len(lacking), "missing": shown,
    }
