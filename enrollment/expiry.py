"""Stale enrolment sessions closed on the server: a session left open longer than
``enrolment_session_ttl_h`` (a station that crashed, a tab closed mid-visit) is marked
``expired`` — lazily when it is next touched and in bulk (``guardid enrol expire``, and at
``guardid serve`` start). Its captures stay for the record and the archive; only the commit
is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from enrollment.exceptions import SessionExpired
from enrollment.models import EnrollmentSession, SessionStatus
from registry import audit, policy
from registry.audit import Actor
from registry.models import utcnow


def _cutoff(ttl_h: float, now: dt.datetime | None = None) -> dt.datetime:
    """Return the opening time before which an open session is stale."""
    return (now or utcnow()) - dt.timedelta(hours=ttl_h)


def _close(db_session: Session, actor: Actor, row: EnrollmentSession, ttl_h: float,
           how: str) -> None:
    """Mark one session expired and audit it (in the caller's transaction)."""
    row.status, row.closed_at = SessionStatus.expired, utcnow()
    district = policy.guard_districts(db_session, [row.guard_id]).get(row.guard_id)
    audit.record(db_session, actor, "enrollment.expire", resource_type="guard",
                 resource_id=row.guard_id, district=district,
                 detail={"session_id": row.id, "ttl_h": ttl_h, "how": how})


def expire_if_stale(db_session: Session, actor: Actor, row: EnrollmentSession,
                    ttl_h: float | None) -> None:
    """Expire ``row`` if it is open and stale, committed at once (a read then shows it
    ``expired``, and a refused write leaves the expiry standing). None checks nothing."""
    if ttl_h is not None and row.status == SessionStatus.open and \
            row.opened_at < _cutoff(ttl_h):
        _close(db_session, actor, row, ttl_h, "on use")
        db_session.commit()


def check(db_session: Session, actor: Actor, row: EnrollmentSession,
          ttl_h: float | None) -> None:
    """Expire ``row`` if it is open and stale, then raise SessionExpired; also raise for a
    session expired earlier (a write to it is refused). A ``ttl_h`` of None checks nothing."""
    if ttl_h is None:
        return
    expire_if_stale(db_session, actor, row, ttl_h)
    if row.status == SessionStatus.expired:
        raise SessionExpired(
            f"enrolment session {row.id} expired (left open longer than {ttl_h:g} h); "
            "its captures are kept for the record: open a new session and capture again")


def expire_stale(db_session: Session, actor: Actor, ttl_h: float,
                 now: dt.datetime | None = None) -> list[int]:
    """Expire every open session opened more than ``ttl_h`` hours ago; return their ids."""
    rows = db_session.scalars(select(EnrollmentSession).where(
        EnrollmentSession.status == SessionStatus.open,
        EnrollmentSession.opened_at < _cutoff(ttl_h, now)).order_by(EnrollmentSession.id)).all()
    for row in rows:
        _close(db_session, actor, row, ttl_h, "bulk")
    db_session.commit()
    return [row.id for row in rows]
