"""Request and response models of spot checks and e-certificates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from inspection.models import CheckMode, MismatchStatus, Outcome
from registry.fieldtypes import UtcOutput
from registry.schemas import Strict


class CheckContext(Strict):
    """Where and against what a check is made (sent as form fields beside the images)."""

    certificate_number: str | None = Field(default=None, max_length=64)
    token: str | None = Field(default=None, max_length=1024)  # a scanned e-certificate
    site: str | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    finger_position: int | None = Field(default=None, ge=1, le=10)
    # The mismatch case this check recaptures (from the previous attempt's answer).
    recapture_of: int | None = Field(default=None, ge=1)


class Candidate(BaseModel):
    """A guard a 1:N identification found, with the evidence for each modality.

    A guard of another district than the inspector's shows only ``elsewhere`` and the
    certificate status (docs/security-policy.md).
    """

    guard_id: int | None
    name_masked: str | None
    certificate_number: str | None
    certificate_status: str | None
    employer: str | None
    face_score: float | None
    finger_score: float | None
    evidence: float | None
    elsewhere: bool = False


class CheckOut(BaseModel):
    """The decision of a spot check, with everything that led to it."""

    check_id: int
    mode: CheckMode
    outcome: Outcome
    failed_checks: list[Outcome]
    guard_id: int | None
    certificate_number: str | None
    face_score: float | None = None
    finger_score: float | None = None
    fused_evidence: float | None = None
    thresholds: dict[str, float]
    candidates: list[Candidate] = []
    violation_ids: list[int] = []
    at: UtcOutput
    # A biometric no-match: the case its attempts belong to, and what the inspector does next.
    mismatch_case_id: int | None = None
    mismatch_status: MismatchStatus | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    next_step: str | None = None


class TokenOut(BaseModel):
    """A signed e-certificate and what it carries."""

    token: str
    payload: dict


class TokenIn(Strict):
    """A token to verify online."""

    token: str = Field(max_length=2048)


class MismatchDecisionIn(Strict):
    """A supervisor's decision on a suspected mismatch, with the reason (kept on the case)."""

    decision: Literal["confirm", "dismiss"]
    reason: str = Field(min_length=1, max_length=500)


class MismatchOut(BaseModel):
    """A mismatch case with its evidence: each attempt's probe beside the enrolled images."""

    id: int
    guard_id: int
    guard_name: str | None = None
    employer: str | None = None
    certificate_number: str
    district: str
    site: str | None
    inspector: str
    status: MismatchStatus
    attempts: int
    max_attempts: int
    opened_at: UtcOutput
    due_at: UtcOutput | None
    decided_by: str | None
    decided_at: UtcOutput | None
    reason: str | None
    violation_id: int | None
    probes: list[dict]
    enrolled: list[dict]


class MismatchPage(BaseModel):
    """Mismatch cases, oldest first, and how many match the filters."""

    total: int
    items: list[MismatchOut]


class StoredCheckOut(BaseModel):
    """A recorded spot check as it was stored."""

    check_id: int
    mode: CheckMode
    outcome: Outcome
    failed_checks: list[str]
    guard_id: int | None
    certificate_number: str | None
    inspector: str | None
    at: UtcOutput
    district: str | None
    site: str | None
    latitude: float | None
    longitude: float | None
    face_quality: float | None
    finger_quality: float | None
    face_score: float | None
    finger_score: float | None
    fused_evidence: float | None
    thresholds: dict[str, float]
    candidates: list[dict]
    mismatch_case_id: int | None = None
    attempt: int | None = None


class CheckPage(BaseModel):
    """Recorded spot checks, newest first, and how many match the filters."""

    total: int
    items: list[StoredCheckOut]


class HolderOut(BaseModel):
    """The certificate holder beside a check's decision (own-district guards only)."""

    check_id: int
    guard_id: int
    name: str
    certificate_number: str | None
    employer: str | None
    post_site: str | None
    duty_status: str
    photo: str | None  # link to the enrolled face image, when one is on file
