"""The record of spot checks as each reader may see it: listed, fetched and redacted.

A check is filed in the district where it happened. A guard of another district met there
(a certificate presented, or a 1:N hit) is shown with the minimal disclosure the inspector
needs: the outcome and the failed checks (a 1:N hit: the certificate status); never that
guard's id, certificate number, name, employer or scores (docs/security-policy.md). The
inspector holds the card presented; the city-level record keeps everything.
"""

from __future__ import annotations

import json

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from inspection.models import Outcome, SpotCheck
from registry import audit, paging, policy
from registry.audit import Actor
from registry.exceptions import NotFound

# What an out-of-district 1:N hit shows: that a registered guard matched, and their status.
ELSEWHERE = {"guard_id": None, "name_masked": None, "certificate_number": None,
             "employer": None, "face_score": None, "finger_score": None, "evidence": None,
             "elsewhere": True}
# Fields of a check that describe the guard it met, withheld when that guard is elsewhere.
GUARD_FIELDS = ("guard_id", "certificate_number", "face_score", "finger_score",
                "fused_evidence")


def redact(db_session: Session, actor: Actor, view: dict) -> dict:
    """Return a check's view with other districts' guards reduced to minimal disclosure."""
    candidates = view.get("candidates") or []
    known = policy.guard_districts(db_session,
                                   [view.get("guard_id"), *(c["guard_id"] for c in candidates)])
    view = {**view, "candidates": [
        c if policy.visible(actor, known.get(c["guard_id"]))
        else {**ELSEWHERE, "certificate_status": c.get("certificate_status")}
        for c in candidates]}
    gid = view.get("guard_id")
    if gid is not None and not policy.visible(actor, known.get(gid)):
        view.update(dict.fromkeys(GUARD_FIELDS))
    return view


def _view(row: SpotCheck) -> dict:
    """Return the stored view of a check."""
    return {"check_id": row.id, "mode": row.mode, "outcome": row.outcome,
            "failed_checks": json.loads(row.failed_checks), "guard_id": row.guard_id,
            "certificate_number": row.certificate_number, "inspector": row.inspector,
            "at": row.at, "district": row.district, "site": row.site,
            "latitude": row.latitude, "longitude": row.longitude,
            "face_quality": row.face_quality, "finger_quality": row.finger_quality,
            "face_score": row.face_score, "finger_score": row.finger_score,
            "fused_evidence": row.fused_score, "thresholds": json.loads(row.thresholds),
            "candidates": json.loads(row.candidates),
            "mismatch_case_id": row.mismatch_id, "attempt": row.attempt}


def list_page(*, db_session: Session, actor: Actor, district: str | None = None,
              outcome: Outcome | None = None, guard_id: int | None = None, offset: int = 0,
              limit: int = 50) -> tuple[list[dict], int]:
    """Return one page of checks filed in the caller's reach, newest first; audited."""
    query = policy.scope_query(actor, select(SpotCheck), SpotCheck.district, district)
    if outcome:
        query = query.where(SpotCheck.outcome == outcome)
    if guard_id is not None:  # a guard out of reach filters like an unknown one: no checks
        query = query.where(SpotCheck.guard_id == guard_id if policy.visible_guard(
            db_session, actor, guard_id) else false())
    rows, total = paging.page(db_session, query, SpotCheck.id.desc(), offset=offset,
                              limit=limit)
    items = [redact(db_session, actor, _view(r)) for r in rows]
    audit.record(db_session, actor, "inspection.list", resource_type="spot_check",
                 detail={"count": len(items), "ids": [i["check_id"] for i in items]},
                 district=policy.district_filter(actor, district))
    db_session.commit()
    return items, int(total)


def get(*, db_session: Session, actor: Actor, check_id: int) -> dict:
    """Return one check filed in the caller's reach; the read is audited."""
    row = db_session.get(SpotCheck, check_id)
    if row is None or not policy.visible(actor, row.district):
        raise NotFound(f"check {check_id} not found")
    view = redact(db_session, actor, _view(row))
    audit.record(db_session, actor, "inspection.read", resource_type="spot_check",
                 resource_id=row.id, district=row.district)
    db_session.commit()
    return view
