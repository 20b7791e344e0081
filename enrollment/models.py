"""Tables of the station workflow: sessions, captures, reviews, finger exceptions.

The enrolled templates themselves belong to ``biometrics.models``; finger exceptions
(counted by reporting as of any date, by ``approved_at``) and the workflow rows live here.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from biometrics.models import Modality
from registry.models import Base, _enum, utcnow


class ExceptionStatus(StrEnum):
    """A finger that cannot be captured needs a supervisor's decision."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class FingerException(Base):
    """A finger recorded as impossible to capture (amputation, injury, worn ridges)."""

    __tablename__ = "finger_exceptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(32))  # amputated | injured | worn | other
    reason: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ExceptionStatus] = mapped_column(_enum(ExceptionStatus),
                                                    default=ExceptionStatus.pending)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SessionStatus(StrEnum):
    """Where an enrollment session stands."""

    open = "open"
    committed = "committed"
    review = "review"  # a possible duplicate waits for a reviewer
    blocked = "blocked"  # the reviewer found the same person under another identity
    abandoned = "abandoned"
    expired = "expired"  # left open longer than enrolment_session_ttl_h (enrollment/expiry.py)


class EnrollmentSession(Base):
    """One station visit: captures are gathered, then committed together (or reviewed)."""

    __tablename__ = "enrollment_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    station: Mapped[str] = mapped_column(String(64))
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus),
                                                  default=SessionStatus.open)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Capture(Base):
    """One submitted photo or impression with its quality verdict (kept for the archive)."""

    __tablename__ = "captures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("enrollment_sessions.id"), index=True)
    modality: Mapped[Modality] = mapped_column(_enum(Modality))
    position: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    quality: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(Text)  # JSON: reasons and measures
    template_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_enc: Mapped[bytes] = mapped_column(LargeBinary)
    model_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReviewStatus(StrEnum):
    """A possible duplicate's review outcome."""

    open = "open"
    different_people = "different_people"
    same_person = "same_person"  # suspected identity fraud: both records linked


class ReviewCase(Base):
    """A 1:N hit at commit: the new enrolment waits until a reviewer decides."""

    __tablename__ = "review_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("enrollment_sessions.id"), unique=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    candidates: Mapped[str] = mapped_column(Text)  # JSON: [{guard_id, score, modality}]
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus), default=ReviewStatus.open)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(500))


class IdempotencyRecord(Base):
    """The first response to a request carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # hash of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
