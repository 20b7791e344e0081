"""Biometric no-matches at a post: a recapture first, then a supervisor's decision.

A face or finger that does not match the certificate holder is not yet an impersonation:
a genuine guard is falsely rejected a few times in a hundred (the face FNMR at FMR 1e-3),
so a city would otherwise file hundreds of false records a week. The first no-match opens
a case and the inspector recaptures (MAX_ATTEMPTS attempts in all, each a recorded spot
check, within RECAPTURE_WINDOW of the last). A match clears the case: nothing is recorded
against anyone. When every attempt fails, or the window closes with attempts unused, the
case waits as a *suspected* mismatch until a supervisor (admin or police of its district)
compares the probes with the enrolled biometrics and confirms it (the impersonation
violation is recorded and counted) or dismisses it (counted nowhere).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from biometrics import records
from biometrics.models import Biometric, Modality
from inspection.exceptions import RecaptureRefused
from inspection.models import MismatchCase, MismatchStatus, SpotCheck
from inspection.schemas import MismatchOut
from registry import audit, guards, paging, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound
from registry.fieldtypes import mark_utc
from registry.models import Guard, utcnow
from violations import service as violations

# Attempts per check, the first included: two recaptures bring a genuine guard's chance of
# failing them all from ~5% to ~0.01% (if attempts were independent), while an impostor
# who fails once at FMR 1e-3 still fails all three.
MAX_ATTEMPTS = 3
# A recapture is taken on the spot; a case with no attempt for this long goes to the
# supervisor with the attempts it has (the guard walked away, the inspector moved on).
RECAPTURE_WINDOW = dt.timedelta(minutes=15)
OPEN = (MismatchStatus.recapture, MismatchStatus.suspected)


def for_recapture(db_session: Session, actor: Actor, case_id: int,
                  number: str | None) -> MismatchCase:
    """Return the case a recapture continues; raise RecaptureRefused when it cannot.

    The inspector continues a case of their own district (where the check happens), even
    when the guard belongs to another: the certificate is presented again, not looked up.
    """
    case = db_session.get(MismatchCase, case_id)
    if case is None or not policy.visible(actor, case.district):
        raise NotFound(f"mismatch case {case_id} not found")
    if case.status != MismatchStatus.recapture or case.due_at <= utcnow():
        raise RecaptureRefused(f"mismatch case {case_id} takes no more attempts "
                               f"({state(case)}): start a new check")
    if number != case.certificate_number:
        raise RecaptureRefused("a recapture presents the same certificate as its first "
                               "attempt")
    return case


def record_attempt(db_session: Session, check: SpotCheck, *, case: MismatchCase | None,
                   no_match: bool, matched: bool) -> MismatchCase | None:
    """Link a check to its case: a first no-match opens one, a recapture advances it.

    Only a recapture whose biometrics matched clears the case; one that reached no
    biometric decision (nothing comparable on file) counts as a failed attempt.
    """
    if case is None:
        if not no_match:
            return None
        case = MismatchCase(guard_id=check.guard_id, certificate_number=check.certificate_number,
                            district=check.district, site=check.site,
                            inspector=check.inspector, attempts=1, opened_at=check.at,
                            due_at=check.at + RECAPTURE_WINDOW)
        db_session.add(case)
        db_session.flush()
    else:
        seen, attempts = case.attempts, case.attempts + 1
        if matched:
            values = {"status": MismatchStatus.cleared, "due_at": None}
        elif attempts >= MAX_ATTEMPTS:
            values = {"status": MismatchStatus.suspected, "due_at": check.at}
        else:
            values = {"due_at": check.at + RECAPTURE_WINDOW}
        # Two recaptures of one case sent at once: only one becomes the next attempt.
        done = db_session.execute(update(MismatchCase).where(
            MismatchCase.id == case.id, MismatchCase.attempts == seen,
            MismatchCase.status == MismatchStatus.recapture).values(attempts=attempts, **values)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise RecaptureRefused(f"mismatch case {case.id} already has attempt {attempts}")
        db_session.refresh(case)
    check.mismatch_id, check.attempt = case.id, case.attempts
    return case


def state(case: MismatchCase, now: dt.datetime | None = None) -> MismatchStatus:
    """Return the case's status as a supervisor sees it (an expired recapture is suspected)."""
    now = now or utcnow()
    if case.status == MismatchStatus.recapture and case.due_at <= now:
        return MismatchStatus.suspected
    return case.status


def next_step(case: MismatchCase | None) -> str | None:
    """Return what the inspector is told after an attempt."""
    if case is None:
        return None
    if case.status == MismatchStatus.cleared:
        return (f"match on attempt {case.attempts} of {MAX_ATTEMPTS}: the earlier no-match is "
                "cleared and nothing is recorded against the guard")
    if case.status == MismatchStatus.recapture:
        return f"no match, recapture (attempt {case.attempts + 1} of {MAX_ATTEMPTS})"
    return (f"no match after {case.attempts} attempts: recorded as suspected mismatch "
            f"{case.id} for a supervisor to confirm or dismiss (not a violation unless "
            "confirmed)")


def check_fields(case: MismatchCase | None) -> dict:
    """Return the mismatch fields of a check's answer (attempt n of MAX, what to do next)."""
    if case is None:
        return {}
    return {"mismatch_case_id": case.id, "mismatch_status": case.status,
            "attempt": case.attempts, "max_attempts": MAX_ATTEMPTS,
            "next_step": next_step(case)}


def _get(db_session: Session, actor: Actor, case_id: int
         ) -> tuple[MismatchCase, list[str | None]]:
    """Return a case in the caller's district, and the districts it is about (read once:
    the audit entry of the request names them too)."""
    case = db_session.get(MismatchCase, case_id)
    districts = [] if case is None else _districts(db_session, case)
    # A case about another district's guard (checked on duty here) is for a city-level
    # supervisor, as a review case spanning two districts is (docs/security-policy.md).
    if case is None or not policy.visible_all(actor, districts):
        raise NotFound(f"mismatch case {case_id} not found")
    return case, districts


def _districts(db_session: Session, case: MismatchCase) -> list[str | None]:
    """Return the districts a case is about: where it happened and the guard's own."""
    guard = policy.guard_districts(db_session, [case.guard_id]).get(case.guard_id)
    return [case.district] if guard is None else [case.district, guard]


def pending_query(now: dt.datetime):  # noqa: ANN201
    """Return the condition of cases waiting for a supervisor at ``now``."""
    return (MismatchCase.status.in_(OPEN)) & (MismatchCase.due_at <= now)


def list_page(*, db_session: Session, actor: Actor, district: str | None,
              status: MismatchStatus | None, offset: int, limit: int
              ) -> tuple[list[MismatchCase], int]:
    """Return cases in scope, oldest first: pending ones unless a status is asked for (the
    read is audited)."""
    now = utcnow()
    query = policy.scope_query(actor, select(MismatchCase), MismatchCase.district, district)
    if actor.district is not None:  # cases about another district's guard: city level only
        query = query.outerjoin(Guard, Guard.id == MismatchCase.guard_id).where(
            or_(MismatchCase.guard_id.is_(None), Guard.district == actor.district))
    if status in (None, MismatchStatus.suspected):
        query = query.where(pending_query(now))
    else:
        query = query.where(MismatchCase.status == status)
        if status == MismatchStatus.recapture:
            query = query.where(MismatchCase.due_at > now)
    rows, total = paging.page(db_session, query, MismatchCase.id, offset=offset, limit=limit)
    audit.record(db_session, actor, "inspection.mismatch_list", resource_type="mismatch_case",
                 detail={"status": status.value if status else None, "offset": offset,
                         "cases": [c.id for c in rows]}, district=actor.district)
    db_session.commit()
    return rows, total


def get(*, db_session: Session, actor: Actor, case_id: int) -> MismatchCase:
    """Return one case in the caller's district; the read (a person's name) is audited."""
    case, districts = _get(db_session, actor, case_id)
    audit.record(db_session, actor, "inspection.mismatch_read", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id},
                 district=policy.entry_district(*districts))
    db_session.commit()
    return case


def attempts(db_session: Session, case: MismatchCase) -> list[SpotCheck]:
    """Return the spot checks that are the case's attempts, in order."""
    return list(db_session.scalars(select(SpotCheck).where(SpotCheck.mismatch_id == case.id)
                                   .order_by(SpotCheck.attempt, SpotCheck.id)))


def enrolled(db_session: Session, case: MismatchCase) -> list[Biometric]:
    """Return the guard's current biometrics of the modalities the attempts probed."""
    checks = attempts(db_session, case)
    wanted = ([Modality.face] if any(c.face_quality is not None for c in checks) else []) + \
             ([Modality.finger] if any(c.finger_quality is not None for c in checks) else [])
    return records.current(db_session, case.guard_id, wanted, with_image=True)


def image(*, db_session: Session, vault: Vault, actor: Actor, case_id: int, kind: str,
          item_id: int) -> bytes:
    """Return one evidence image of a case (a probe or an enrolled biometric); audited."""
    from inspection.service import PROBE_PURPOSE

    case, districts = _get(db_session, actor, case_id)
    if kind == "probe":
        row = next((c for c in attempts(db_session, case) if c.id == item_id), None)
        blob, purpose = (row.probe_enc if row else None), PROBE_PURPOSE
    else:
        bio = next((b for b in enrolled(db_session, case) if b.id == item_id), None)
        blob = bio.image_enc if bio else None
        purpose = records.image_purpose(bio.modality) if bio else ""
    if blob is None:
        raise NotFound(f"mismatch case {case_id} has no {kind} image {item_id}")
    data = vault.decrypt(db_session, blob, purpose=purpose)
    audit.record(db_session, actor, "inspection.mismatch_image_viewed", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id, kind: item_id},
                 district=policy.entry_district(*districts))
    db_session.commit()
    return data


def decide(*, db_session: Session, actor: Actor, case_id: int, confirm: bool,
           reason: str) -> MismatchCase:
    """Confirm (record the impersonation violation) or dismiss a suspected mismatch."""
    case, districts = _get(db_session, actor, case_id)
    now = utcnow()
    if state(case, now) != MismatchStatus.suspected:
        raise Conflict(f"mismatch case {case_id} is {state(case, now).value}, not suspected")
    case.status = MismatchStatus.confirmed if confirm else MismatchStatus.dismissed
    case.decided_by, case.decided_at, case.reason = actor.key_id, now, reason
    if confirm:
        last = attempts(db_session, case)[-1]
        case.violation_id = violations.record_impersonation(
            db_session, actor, guard=db_session.get(Guard, case.guard_id), check_id=last.id,
            district=case.district, site=case.site, found_at=case.opened_at,
            note=f"suspected mismatch {case.id} confirmed after {case.attempts} attempt(s)").id
    audit.record(db_session, actor, "inspection.mismatch_decided", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id,
                                                    "outcome": case.status.value,
                                                    "violation": case.violation_id},
                 district=policy.entry_district(*districts))
    db_session.commit()
    return case


def pending_as_of(db_session: Session, *, unit: str | None, start: dt.datetime,
                  cut: dt.datetime) -> list[int]:
    """Return the cases opened since ``start`` that waited for a supervisor at ``cut``."""
    query = select(MismatchCase.id).where(
        MismatchCase.opened_at >= start, MismatchCase.due_at <= cut,
        MismatchCase.status != MismatchStatus.cleared,
        or_(MismatchCase.decided_at.is_(None), MismatchCase.decided_at > cut))
    if unit:
        query = query.where(MismatchCase.district == unit)
    return list(db_session.scalars(query.order_by(MismatchCase.id)))


def to_out(db_session: Session, case: MismatchCase) -> MismatchOut:
    """Return a case with links to its probes and the enrolled images, side by side."""
    base = f"/mismatches/{case.id}/images"
    probe_links = [{"check_id": c.id, "attempt": c.attempt, "at": mark_utc(c.at),
                    "face_score": c.face_score, "finger_score": c.finger_score,
                    "face_quality": c.face_quality, "finger_quality": c.finger_quality,
                    "image": f"{base}/probe/{c.id}" if c.probe_enc else None}
                   for c in attempts(db_session, case)]
    on_file = [{"biometric_id": b.id, "modality": b.modality.value, "position": b.position,
                "image": f"{base}/enrolled/{b.id}"} for b in enrolled(db_session, case)]
    person = guards.who(db_session, [case.guard_id]).get(case.guard_id, {})
    return MismatchOut(
        id=case.id, guard_id=case.guard_id, guard_name=person.get("name"),
        employer=person.get("employer"), certificate_number=case.certificate_number,
        district=case.district, site=case.site, inspector=case.inspector,
        status=state(case), attempts=case.attempts,
        max_attempts=MAX_ATTEMPTS, opened_at=case.opened_at, due_at=case.due_at,
        decided_by=case.decided_by, decided_at=case.decided_at, reason=case.reason,
        violation_id=case.violation_id, probes=probe_links, enrolled=on_file)
