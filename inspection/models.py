"""Tables of the inspection domain: spot checks at duty posts, the mismatch cases their
biometric no-matches open, e-certificate signing keys, and exam-door identity checks."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.models import Base, _enum, utcnow


class CheckMode(StrEnum):
    """1:1 against a presented certificate, or 1:N with no document."""

    verify = "verify"
    identify = "identify"


class Outcome(StrEnum):
    """The decision of a spot check; everything but ``match`` is a failure."""

    match = "match"
    no_match = "no_match"  # biometrics disagree: suspected impersonation
    not_enrolled = "not_enrolled"
    no_certificate = "no_certificate"
    certificate_suspended = "certificate_suspended"
    certificate_revoked = "certificate_revoked"
    certificate_invalid = "certificate_invalid"  # a token whose signature does not verify
    background_check_failed = "background_check_failed"
    employer_unlicensed = "employer_unlicensed"
    employer_unfiled = "employer_unfiled"
    employer_blacklisted = "employer_blacklisted"
    not_on_duty_here = "not_on_duty_here"
    identified = "identified"  # 1:N found someone
    unknown_person = "unknown_person"  # 1:N found no one


class SpotCheck(Base):
    """One check by an inspector: who, when, where, the probe's quality, scores, the decision."""

    __tablename__ = "spot_checks"
    __table_args__ = (Index("ix_spot_checks_district_at", "district", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[CheckMode] = mapped_column(_enum(CheckMode))
    inspector: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    district: Mapped[str | None] = mapped_column(String(64))
    site: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    certificate_number: Mapped[str | None] = mapped_column(String(64), index=True)
    guard_id: Mapped[int | None] = mapped_column(ForeignKey("guards.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome), index=True)
    failed_checks: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of outcomes
    face_quality: Mapped[float | None] = mapped_column(Float)
    finger_quality: Mapped[float | None] = mapped_column(Float)
    face_score: Mapped[float | None] = mapped_column(Float)
    finger_score: Mapped[float | None] = mapped_column(Float)
    fused_score: Mapped[float | None] = mapped_column(Float)
    thresholds: Mapped[str] = mapped_column(Text, default="{}")  # JSON name -> value applied
    candidates: Mapped[str] = mapped_column(Text, default="[]")  # 1:N: JSON list
    probe_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted probe photo
    # A no-match opens a mismatch case; each recapture is a further attempt of that case.
    mismatch_id: Mapped[int | None] = mapped_column(ForeignKey("mismatch_cases.id"),
                                                    index=True)
    attempt: Mapped[int | None] = mapped_column(Integer)


class MismatchStatus(StrEnum):
    """Where a biometric no-match stands: recaptured, then (if it persists) reviewed."""

    recapture = "recapture"  # the inspector may capture again (attempts and time are bounded)
    cleared = "cleared"  # a recapture matched: nothing is recorded against anyone
    suspected = "suspected"  # every attempt failed: a supervisor confirms or dismisses
    confirmed = "confirmed"  # an impersonation: the violation is recorded and counted
    dismissed = "dismissed"  # not an impersonation (e.g. a false reject): counted nowhere


class MismatchCase(Base):
    """The attempts of one identity check whose biometrics did not match the certificate.

    ``due_at`` is when the case reaches the supervisor's queue: at once after the last
    attempt, or when the recapture window closes with attempts unused.
    """

    __tablename__ = "mismatch_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    certificate_number: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64), index=True)
    site: Mapped[str | None] = mapped_column(String(200))
    inspector: Mapped[str] = mapped_column(String(64))
    status: Mapped[MismatchStatus] = mapped_column(_enum(MismatchStatus), index=True,
                                                   default=MismatchStatus.recapture)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    violation_id: Mapped[int | None] = mapped_column(Integer)  # the confirmed impersonation


class SigningKey(Base):
    """An Ed25519 key that signs e-certificates and revocation lists.

    The private half is stored encrypted by the vault. A retired key signs nothing new but
    stays published, so the certificates it signed verify until they expire.
    """

    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # raw 32 bytes
    private_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Latest expiry among the certificates it signed: after this it need not be published.
    signed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ExamResult(StrEnum):
    """What the door check of an exam candidate found."""

    passed = "passed"  # the candidate is the enrolled person, and nobody else
    mismatch = "mismatch"  # not the enrolled person, and not anyone else enrolled
    stand_in = "stand_in"  # someone else enrolled under another name sits for the candidate
    not_enrolled = "not_enrolled"  # the candidate has no enrolment to compare with


class ExamSession(Base):
    """A guard-certificate exam sitting at one site on one day."""

    __tablename__ = "exam_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(64))
    exam_date: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ExamCandidate(Base):
    """A guard registered to sit an exam session."""

    __tablename__ = "exam_candidates"
    __table_args__ = (UniqueConstraint("exam_id", "guard_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ExamCheck(Base):
    """One identity check at the exam door: 1:1 against the candidate, 1:N against all others."""

    __tablename__ = "exam_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    result: Mapped[ExamResult] = mapped_column(_enum(ExamResult))
    face_score: Mapped[float | None] = mapped_column(Float)
    probe_quality: Mapped[float] = mapped_column(Float)
    others: Mapped[str] = mapped_column(Text, default="[]")  # JSON: other guards that matched
    station: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
