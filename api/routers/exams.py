"""Exam-site identity checks: sessions, registered candidates, door checks, results."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, UploadFile
from pydantic import BaseModel, Field

from api.deps import Admin, RuntimeDep, SessionDep, VaultDep, role_dep
from api.uploads import read_upload
from inspection import exams
from registry.fieldtypes import DbId, District
from registry.models import Role
from registry.schemas import Strict

router = APIRouter(tags=["exams"])
Station = role_dep(Role.admin, Role.station)
Reader = role_dep(Role.admin, Role.station, Role.police)


class ExamIn(Strict):
    """An exam sitting."""

    name: str = Field(min_length=1, max_length=200)
    site: str = Field(min_length=1, max_length=200)
    district: District
    exam_date: dt.date


class CandidatesIn(Strict):
    """Guards to register for an exam."""

    guard_ids: list[DbId] = Field(min_length=1, max_length=5000)


class ExamCreated(BaseModel):
    """The id of a new exam session."""

    id: int


class CandidatesOut(BaseModel):
    """Every candidate of an exam."""

    guard_ids: list[int]


class DoorCheckOut(BaseModel):
    """The result of one door check."""

    id: int
    guard_id: int
    result: str
    face_score: float | None
    others: list[dict]


@router.post("/exams", status_code=201, response_model=ExamCreated)
def create_exam(body: ExamIn, session: SessionDep, actor: Admin):
    """Create an exam session."""
    row = exams.create(db_session=session, actor=actor, name=body.name, site=body.site,
                       district=body.district, exam_date=body.exam_date)
    return {"id": row.id}


@router.post("/exams/{exam_id}/candidates", response_model=CandidatesOut)
def register(exam_id: DbId, body: CandidatesIn, session: SessionDep, actor: Station):
    """Register guards as candidates of an exam (idempotent)."""
    return {"guard_ids": exams.register(db_session=session, actor=actor, exam_id=exam_id,
                                        guard_ids=body.guard_ids)}


@router.post("/exams/{exam_id}/checks", status_code=201, response_model=DoorCheckOut)
def door_check(exam_id: DbId, guard_id: Annotated[DbId, Form()], face: UploadFile,
               session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Station):
    """Check the person at the door: 1:1 against the candidate, 1:N against everyone else."""
    s = runtime.settings
    m = runtime.matchers
    row = exams.check(db_session=session, vault=vault, actor=actor, engine=m.face_engine,
                      gallery=runtime.face_gallery, exam_id=exam_id, guard_id=guard_id,
                      image=read_upload(face, s.max_upload_bytes),
                      verify_threshold=m.face_thresholds[s.verify_face_threshold],
                      duplicate_threshold=runtime.duplicate_threshold,
                      max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels)
    return {"id": row.id, "guard_id": row.guard_id, "result": row.result.value,
            "face_score": row.face_score,
            "others": exams.visible_others(session, actor, row.others)}


@router.get("/exams/{exam_id}")
def exam_results(exam_id: DbId, session: SessionDep, actor: Reader):
    """Return the exam, every candidate's latest door check, and counts by result."""
    return exams.summary(db_session=session, actor=actor, exam_id=exam_id)
