"""Request and response models of violations and rectifications."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.fieldtypes import AwareInput, DbId, District, UtcOutput
from registry.schemas import Strict
from violations.models import (
    RECTIFICATION_COLUMN,
    VIOLATION_COLUMN,
    RectificationAction,
    ViolationCategory,
    ViolationSource,
    ViolationStatus,
)


class ViolationIn(Strict):
    """A violation an inspector found (form fields beside an optional evidence photo)."""

    category: ViolationCategory
    organisation_id: DbId | None = None
    guard_id: DbId | None = None
    district: District | None = None
    persons: int = Field(default=1, ge=1, le=10_000)
    site: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    found_at: AwareInput | None = None


class ViolationDecisionIn(Strict):
    """A reviewer's decision on an open violation."""

    status: Literal[ViolationStatus.confirmed, ViolationStatus.dismissed]
    note: str | None = Field(default=None, max_length=2000)


class ViolationOut(BaseModel):
    """A violation record, with the statistics-table column it counts in."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    category: ViolationCategory
    column: int | None = None
    source: ViolationSource
    status: ViolationStatus
    district: str
    organisation_id: int | None
    guard_id: int | None
    persons: int
    check_id: int | None
    site: str | None
    note: str | None
    has_evidence: bool = False
    found_at: UtcOutput
    recorded_by: str

    @classmethod
    def of(cls, row) -> ViolationOut:  # noqa: ANN001
        """Return the API view of a violation row."""
        out = cls.model_validate(row)
        out.column = VIOLATION_COLUMN[row.category]
        out.has_evidence = row.evidence_enc is not None
        return out


class RectificationIn(Strict):
    """An enforcement or rectification action."""

    action: RectificationAction
    organisation_id: DbId | None = None
    guard_id: DbId | None = None
    violation_id: DbId | None = None
    district: District | None = None
    count: int = Field(default=1, ge=1, le=100_000)
    note: str | None = Field(default=None, max_length=2000)
    at: AwareInput | None = None


class RectificationOut(BaseModel):
    """A rectification record, with its statistics-table column."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    action: RectificationAction
    column: int = 0
    district: str
    organisation_id: int | None
    guard_id: int | None
    violation_id: int | None
    count: int
    note: str | None
    at: UtcOutput
    recorded_by: str

    @classmethod
    def of(cls, row) -> RectificationOut:  # noqa: ANN001
        """Return the API view of a rectification row."""
        out = cls.model_validate(row)
        out.column = RECTIFICATION_COLUMN[row.action]
        return out


class ViolationPage(BaseModel):
    """Violations, newest first, and how many match the filters."""

    total: int
    items: list[ViolationOut]
