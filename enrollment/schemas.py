"""Request and response models of the enrollment API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from biometrics.models import Modality
from enrollment.models import ExceptionStatus, ReviewStatus, SessionStatus
from registry.fieldtypes import DbId, UtcOutput
from registry.schemas import GuardIn, Strict


class SessionIn(Strict):
    """Open a session for an existing guard, or register the guard from the ID document."""

    guard_id: DbId | None = None
    guard: GuardIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SessionIn:
        if (self.guard_id is None) == (self.guard is None):
            raise ValueError("give exactly one of guard_id or guard")
        return self


class CaptureOut(BaseModel):
    """One capture's quality verdict: what passed, what to fix."""

    id: int
    modality: Modality
    position: int
    attempt: int
    passed: bool
    quality: float
    reasons: list[dict[str, Any]]
    measures: dict[str, float]


class AbandonIn(Strict):
    """Why a station gives a session up (kept in the audit log; no personal data)."""

    reason: str | None = Field(default=None, max_length=200)


class SessionOut(BaseModel):
    """An enrollment session and its captures."""

    id: int
    guard_id: int
    status: SessionStatus
    station: str
    opened_at: UtcOutput
    closed_at: UtcOutput | None
    captures: list[CaptureOut]


class CommitOut(BaseModel):
    """The commit's outcome: committed, or a review case with its candidates."""

    session_id: int
    guard_id: int
    status: SessionStatus
    review_case_id: int | None = None
    candidates: list[dict[str, Any]] = Field(default_factory=list)


class FingerExceptionIn(Strict):
    """A finger that cannot be captured, and why."""

    reason_code: Literal["amputated", "injured", "worn", "other"]
    reason: str | None = Field(default=None, max_length=500)


class FingerExceptionOut(BaseModel):
    """A recorded finger exception."""

    id: int
    guard_id: int
    position: int
    reason_code: str
    reason: str | None
    status: ExceptionStatus
    decided_by: str | None
    decided_at: UtcOutput | None


class ReviewResolveIn(Strict):
    """The reviewer's decision on a possible duplicate."""

    outcome: Literal["different_people", "same_person"]
    note: str | None = Field(default=None, max_length=500)


class ReviewOut(BaseModel):
    """A review case."""

    id: int
    session_id: int
    guard_id: int
    status: ReviewStatus
    candidates: list[dict[str, Any]]
    opened_at: UtcOutput
    resolved_by: str | None
    resolved_at: UtcOutput | None
    note: str | None
    # Image pairs to compare (new capture vs the candidate's enrolled biometric it matched):
    # guard_id, modality, position, score, and the URLs of both images.
    evidence: list[dict[str, Any]] = []
    # The people the case is about, by guard id: name, employer's name, district, post.
    people: dict[int, dict[str, Any]] = {}
