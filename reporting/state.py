"""The registry as it stood at the end of a given day, computed from dated history.

Duty status, employer, post and district come from ``guard_events`` (every change is an
event); collection from the capture times of biometrics and the decision times of finger
exceptions; certificates from their events. Nothing is read from "current" columns, so a
past day's figures are computed, not guessed, and do not change when the present does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enrollment.models import Biometric, ExceptionStatus, FingerException, Modality
from registry.models import (
    Certificate,
    CertificateEvent,
    Guard,
    GuardEvent,
    Organisation,
)

# Status a certificate has after each event (issue and reinstate make it valid).
CERT_EVENT_STATUS = {"issued": "valid", "reinstate": "valid", "suspend": "suspended",
                     "revoke": "revoked"}


@dataclass
class GuardState:
    """One guard as of the report date."""

    id: int
    name: str
    duty_status: str | None = None
    employer_id: int | None = None
    post_site: str | None = None
    district: str | None = None
    on_duty_since: dt.datetime | None = None
    face_at: dt.datetime | None = None
    finger_positions: set[int] = field(default_factory=set)
    excused_positions: set[int] = field(default_factory=set)
    certificate: str | None = None  # valid | suspended | revoked | None


def end_of(day: dt.date) -> dt.datetime:
    """Return the last instant of ``day`` (naive UTC, as stored)."""
    return dt.datetime.combine(day, dt.time.max)


def guards_as_of(db_session: Session, day: dt.date) -> dict[int, GuardState]:
    """Return every guard registered by the end of ``day`` with their state then."""
    cut = end_of(day)
    out = {gid: GuardState(gid, name) for gid, name in db_session.execute(
        select(Guard.id, Guard.name).where(Guard.created_at <= cut))}
    latest = select(func.max(GuardEvent.id)).where(GuardEvent.at <= cut).group_by(
        GuardEvent.guard_id, GuardEvent.kind)
    for gid, kind, value, at in db_session.execute(
            select(GuardEvent.guard_id, GuardEvent.kind, GuardEvent.value, GuardEvent.at)
            .where(GuardEvent.id.in_(latest))):
        g = out.get(gid)
        if g is None:
            continue
        if kind == "duty_status":
            g.duty_status, g.on_duty_since = value, at if value == "on_duty" else None
        elif kind == "employer_id":
            g.employer_id = int(value) if value else None
        elif kind in ("post_site", "district"):
            setattr(g, kind, value)
    _collection(db_session, out, cut)
    _certificates(db_session, out, cut)
    return out


def _collection(db_session: Session, out: dict[int, GuardState], cut: dt.datetime) -> None:
    """Fill in when each guard's face was first on file and which fingers were."""
    for gid, modality, position, at in db_session.execute(
            select(Biometric.guard_id, Biometric.modality, Biometric.position,
                   func.min(Biometric.captured_at))
            .where(Biometric.captured_at <= cut)
            .group_by(Biometric.guard_id, Biometric.modality, Biometric.position)):
        g = out.get(gid)
        if g is None:
            continue
        if modality == Modality.face:
            g.face_at = min(filter(None, [g.face_at, at]))
        else:
            g.finger_positions.add(position)
    for gid, position in db_session.execute(
            select(FingerException.guard_id, FingerException.position).where(
                FingerException.status == ExceptionStatus.approved,
                FingerException.decided_at <= cut)):
        if gid in out:
            out[gid].excused_positions.add(position)


def _certificates(db_session: Session, out: dict[int, GuardState], cut: dt.datetime) -> None:
    """Fill in each guard's best certificate status at the cut (valid beats the others)."""
    latest = select(func.max(CertificateEvent.id)).where(CertificateEvent.at <= cut).group_by(
        CertificateEvent.certificate_id)
    rank = {"valid": 0, "suspended": 1, "revoked": 2}
    for gid, event in db_session.execute(
            select(Certificate.guard_id, CertificateEvent.event)
            .join(Certificate, Certificate.id == CertificateEvent.certificate_id)
            .where(CertificateEvent.id.in_(latest))):
        status = CERT_EVENT_STATUS.get(event)
        g = out.get(gid)
        if g is None or status is None:
            continue
        if g.certificate is None or rank[status] < rank[g.certificate]:
            g.certificate = status


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
