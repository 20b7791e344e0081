"""Request and response models of the registry API."""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from registry.fieldtypes import DbId, District, UtcOutput
from registry.models import (
    BackgroundCheck,
    CertificateStatus,
    DutyStatus,
    Gender,
    LicenceStatus,
    ListStatus,
    OrgType,
)

T = TypeVar("T")


class Strict(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    offset: int
    limit: int


class OrganisationIn(Strict):
    """A new organisation."""

    name: str = Field(min_length=1, max_length=200)
    org_type: OrgType
    licence_no: str | None = Field(default=None, max_length=64)
    licence_status: LicenceStatus
    district: District
    credit_grade: str | None = Field(default=None, max_length=8)
    list_status: ListStatus = ListStatus.none
    list_reason: str | None = Field(default=None, max_length=500)
    list_date: dt.date | None = None


class OrganisationPatch(Strict):
    """Changes to an organisation; absent fields stay as they are, required ones are not null."""

    name: str = Field(default=None, min_length=1, max_length=200)
    licence_no: str | None = Field(default=None, max_length=64)
    licence_status: LicenceStatus = None
    credit_grade: str | None = Field(default=None, max_length=8)
    list_status: ListStatus = None
    list_reason: str | None = Field(default=None, max_length=500)
    list_date: dt.date | None = None


class OrganisationOut(BaseModel):
    """An organisation as the API shows it."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    org_type: OrgType
    licence_no: str | None
    licence_status: LicenceStatus
    district: str
    credit_grade: str | None
    list_status: ListStatus
    list_reason: str | None
    list_date: dt.date | None


class GuardIn(Strict):
    """A new guard; gender and birth date are derived from the ID number."""

    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=1, max_length=32)
    employer_id: DbId | None = None
    district: District | None = None
    post_site: str | None = Field(default=None, max_length=200)
    duty_status: DutyStatus = DutyStatus.off_duty
    background_check: BackgroundCheck = BackgroundCheck.pending
    skill_level: int = Field(default=1, ge=1, le=5)


class GuardPatch(Strict):
    """Changes to a guard; the ID number never changes (a new person is a new guard).

    Absent fields stay as they are; the columns that need a value refuse an explicit null.
    """

    name: str = Field(default=None, min_length=1, max_length=100)
    employer_id: DbId | None = None
    district: District = None
    post_site: str | None = Field(default=None, max_length=200)
    duty_status: DutyStatus = None
    background_check: BackgroundCheck = None
    skill_level: int = Field(default=None, ge=1, le=5)


class GuardOut(BaseModel):
    """A guard as the API shows it: the ID number only masked."""

    id: int
    name: str
    id_number_masked: str
    gender: Gender
    birth_date: dt.date
    employer_id: int | None
    district: str
    post_site: str | None
    duty_status: DutyStatus
    background_check: BackgroundCheck
    skill_level: int


class GuardSearch(Strict):
    """A guard search: any of name (part of it), certificate number, ID number; all must hold.

    The ID number is sent in the body, never in a URL (which logs and histories keep), and
    is looked up only by its keyed hash after the same canonicalisation registration applies.
    """

    name: str | None = Field(default=None, min_length=1, max_length=100)
    certificate_number: str | None = Field(default=None, min_length=1, max_length=64)
    id_number: str | None = Field(default=None, min_length=1, max_length=32)
    district: District | None = None
    offset: int = Field(default=0, ge=0, le=10_000_000)
    limit: int = Field(default=20, ge=1, le=500)


class GuardFound(GuardOut):
    """A guard found by a search: the registry view plus the employer's name and certificates."""

    employer_name: str | None
    certificate_numbers: list[str]


class CertificateIn(Strict):
    """A certificate to issue to a guard."""

    # Held to its canonical form (ASCII letters, digits, hyphens) by registry.canonical.
    number: str = Field(min_length=4, max_length=64)
    guard_id: DbId
    issue_date: dt.date


class StatusChange(Strict):
    """A reason for suspending, revoking or reinstating a certificate."""

    reason: str = Field(min_length=1, max_length=500)


class CertificateOut(BaseModel):
    """A certificate and its current status."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    guard_id: DbId
    issue_date: dt.date
    status: CertificateStatus
    status_reason: str | None
    status_at: UtcOutput


class CertificateEventOut(BaseModel):
    """One event in a certificate's history."""

    model_config = ConfigDict(from_attributes=True)
    at: UtcOutput
    event: str
    reason: str | None
    actor: str | None


class ImportRowError(BaseModel):
    """Why one row of a bulk import was refused."""

    row: int
    code: str
    message: str


class ImportReport(BaseModel):
    """Outcome of a bulk import: every row is either created or listed with its error."""

    total: int
    created: int
    failed: int
    created_ids: list[int]
    errors: list[ImportRowError]
