"""Tables of the system of record: organisations, guards, certificates, keys, audit, data keys."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (how every table stores time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (needed by Alembic on both databases)."""

    metadata = MetaData(naming_convention=NAMING)


def _enum(cls: type[StrEnum]) -> SAEnum:
    """Store a StrEnum as a plain string column (portable, migration-friendly)."""
    return SAEnum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class OrgType(StrEnum):
    """Who employs the guards (the campaign table's survey columns 2–5)."""

    security_company = "security_company"  # licensed security-service company
    self_recruiting = "self_recruiting"  # unit that recruits its own guards (filed)
    property_management = "property_management"  # property company providing security
    unqualified = "unqualified"  # labour / cleaning firm etc., not qualified


class LicenceStatus(StrEnum):
    """State of an organisation's licence (companies) or police filing (self-recruiting)."""

    licensed = "licensed"
    filed = "filed"
    unlicensed = "unlicensed"
    unfiled = "unfiled"
    revoked = "revoked"


class ListStatus(StrEnum):
    """Credit list an organisation is on."""

    none = "none"
    red = "red"
    black = "black"


class DutyStatus(StrEnum):
    """Whether a guard is working a post."""

    on_duty = "on_duty"
    off_duty = "off_duty"
    left = "left"


class BackgroundCheck(StrEnum):
    """Result of the police background check."""

    pending = "pending"
    passed = "passed"
    failed = "failed"


class Gender(StrEnum):
    """Gender as encoded in the national ID number (17th digit parity)."""

    male = "male"
    female = "female"


class CertificateStatus(StrEnum):
    """Guard certificate state; revocation is an event, never a delete."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"


class Role(StrEnum):
    """API roles; each reaches only what it needs."""

    admin = "admin"
    station = "station"
    inspector = "inspector"
    police = "police"
    auditor = "auditor"


class Organisation(Base):
    """An employer of guards."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_type: Mapped[OrgType] = mapped_column(_enum(OrgType))
    licence_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    licence_status: Mapped[LicenceStatus] = mapped_column(_enum(LicenceStatus))
    district: Mapped[str] = mapped_column(String(64), index=True)
    credit_grade: Mapped[str | None] = mapped_column(String(8))
    list_status: Mapped[ListStatus] = mapped_column(_enum(ListStatus), default=ListStatus.none)
    list_reason: Mapped[str | None] = mapped_column(String(500))
    list_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Guard(Base):
    """A security guard; the ID number is stored encrypted and found by a keyed hash."""

    __tablename__ = "guards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    gender: Mapped[Gender] = mapped_column(_enum(Gender))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    post_site: Mapped[str | None] = mapped_column(String(200))
    duty_status: Mapped[DutyStatus] = mapped_column(_enum(DutyStatus), index=True)
    background_check: Mapped[BackgroundCheck] = mapped_column(_enum(BackgroundCheck))
    skill_level: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class GuardEvent(Base):
    """Dated history of a guard's duty status, employer and post (for as-of reports)."""

    __tablename__ = "guard_events"
    __table_args__ = (Index("ix_guard_events_guard_at", "guard_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # duty_status | employer | post_site | ...
    value: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(64))


class Certificate(Base):
    """A guard certificate (保安员证)."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus))
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CertificateEvent(Base):
    """One change of a certificate's status: issued, suspended, revoked, reinstated."""

    __tablename__ = "certificate_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str | None] = mapped_column(String(64))


class ApiKey(Base):
    """An API key; only a hash of its secret is stored."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(_enum(Role))
    district: Mapped[str | None] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """One append-only audit record; sealed into the keyed hash chain shortly after commit.

    ``id`` is the insertion order and ``mac`` authenticates the entry as written by guardid;
    ``seq`` (the chain position), ``prev_hash``, ``hash`` and ``alg`` stay NULL until the
    sealer (registry/audit.py) chains the entry.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    # The district the entry is about (NULL: city level); a scoped auditor reads only its own.
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    alg: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))


class DataKey(Base):
    """A data-encryption key, stored only wrapped by a master key (envelope encryption)."""

    __tablename__ = "data_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(32))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuthFailure(Base):
    """Failed authentications of one API key id or one client address in the current window
    (registry/throttle.py); shared by every replica, so a lock holds across them and restarts."""

    __tablename__ = "auth_failures"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # key | address
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
