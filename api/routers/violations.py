"""Violations (derived and manual), their review, and rectification actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import Response

from api.deps import Limit, Offset, RuntimeDep, SessionDep, VaultDep, role_dep
from api.uploads import read_upload
from registry.fieldtypes import DbId, District
from registry.models import Role
from violations import service
from violations.models import ViolationCategory, ViolationStatus
from violations.schemas import (
    RectificationIn,
    RectificationOut,
    ViolationDecisionIn,
    ViolationIn,
    ViolationOut,
    ViolationPage,
)

router = APIRouter(tags=["violations"])
Recorder = role_dep(Role.admin, Role.inspector, Role.police)
Reviewer = role_dep(Role.admin, Role.police)
Reader = role_dep(Role.admin, Role.inspector, Role.police)


@router.post("/violations", status_code=201, response_model=ViolationOut)
def record(session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Recorder,
           category: Annotated[ViolationCategory, Form()],
           organisation_id: Annotated[DbId | None, Form()] = None,
           guard_id: Annotated[DbId | None, Form()] = None,
           district: Annotated[District | None, Form()] = None,
           persons: Annotated[int, Form()] = 1, site: Annotated[str | None, Form()] = None,
           note: Annotated[str | None, Form()] = None, evidence: UploadFile | None = None):
    """Record a violation found on inspection, with an optional evidence photo."""
    data = ViolationIn(category=category, organisation_id=organisation_id, guard_id=guard_id,
                       district=district, persons=persons, site=site, note=note)
    limits = runtime.settings
    photo = read_upload(evidence, limits.max_upload_bytes) if evidence else None
    row = service.record(db_session=session, vault=vault, actor=actor, data=data,
                         evidence=photo, max_bytes=limits.max_upload_bytes,
                         max_pixels=limits.max_image_pixels)
    return service.view(session, actor, row)


@router.get("/violations", response_model=ViolationPage)
def list_violations(session: SessionDep, actor: Reader, offset: Offset = 0, limit: Limit = 50,
                    district: str | None = None, category: ViolationCategory | None = None,
                    status: ViolationStatus | None = None):
    """Return violations in the caller's district, newest first."""
    rows, total = service.list_page(db_session=session, actor=actor, district=district,
                                    category=category, status=status, offset=offset,
                                    limit=limit)
    return {"total": total, "items": [service.view(session, actor, r) for r in rows]}


@router.get("/violations/{violation_id}", response_model=ViolationOut)
def get_violation(violation_id: DbId, session: SessionDep, actor: Reader):
    """Return one violation (the read is audited)."""
    return service.read(db_session=session, actor=actor, violation_id=violation_id)


@router.get("/violations/{violation_id}/evidence")
def get_evidence(violation_id: DbId, session: SessionDep, vault: VaultDep, actor: Reviewer):
    """Return the evidence photo (decrypted; the access is audited)."""
    data = service.evidence(db_session=session, vault=vault, actor=actor,
                            violation_id=violation_id)
    return Response(data, media_type="application/octet-stream")


@router.post("/violations/{violation_id}/decide", response_model=ViolationOut)
def decide(violation_id: DbId, body: ViolationDecisionIn, session: SessionDep, actor: Reviewer):
    """Confirm or dismiss an open violation (e.g. a suspected impersonation)."""
    return service.view(session, actor, service.decide(db_session=session, actor=actor,
                                                       violation_id=violation_id, data=body))


@router.post("/rectifications", status_code=201, response_model=RectificationOut)
def rectify(body: RectificationIn, session: SessionDep, actor: Recorder):
    """Record an enforcement or rectification action (statistics columns 17-22)."""
    return RectificationOut.of(service.rectify(db_session=session, actor=actor, data=body))
