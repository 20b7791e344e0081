"""Spot checks at duty posts: 1:1 verify, 1:N identify, and the record of every check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, UploadFile
from fastapi.responses import Response

from api.deps import Limit, Offset, RuntimeDep, SessionDep, VaultDep, role_dep
from api.uploads import read_upload
from enrollment.review import media_type
from inspection import holder, records, service
from inspection import identify as identify_service
from inspection.models import Outcome
from inspection.schemas import CheckContext, CheckOut, CheckPage, HolderOut, StoredCheckOut
from registry.fieldtypes import DbId
from registry.models import Role

router = APIRouter(tags=["inspection"])
Inspector = role_dep(Role.admin, Role.inspector)
CheckReader = role_dep(Role.admin, Role.inspector, Role.police)


def _images(runtime, face: UploadFile | None, finger: UploadFile | None) -> service.Images:  # noqa: ANN001
    """Read the uploaded probes within the upload limit."""
    limit = runtime.settings.max_upload_bytes
    return service.Images(face=read_upload(face, limit) if face else None,
                          finger=read_upload(finger, limit) if finger else None)


def _context(certificate_number: str | None, token: str | None, site: str | None,
             latitude: float | None, longitude: float | None,
             finger_position: int | None, recapture_of: int | None = None) -> CheckContext:
    """Validate the form fields of a check."""
    return CheckContext(certificate_number=certificate_number or None, token=token or None,
                        site=site or None, latitude=latitude, longitude=longitude,
                        finger_position=finger_position, recapture_of=recapture_of)


OptStr = Annotated[str | None, Form()]
OptFloat = Annotated[float | None, Form()]
OptInt = Annotated[int | None, Form()]


@router.post("/inspections/verify", response_model=CheckOut)
def verify(session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Inspector,
           face: UploadFile | None = None, finger: UploadFile | None = None,
           certificate_number: OptStr = None, token: OptStr = None, site: OptStr = None,
           latitude: OptFloat = None, longitude: OptFloat = None,
           finger_position: OptInt = None,
           recapture_of: Annotated[DbId | None, Form()] = None):
    """Verify a guard 1:1: certificate number or e-certificate token, plus face and/or finger.

    A no-match asks for a recapture: send the next attempt with ``recapture_of`` set to the
    answer's ``mismatch_case_id`` (3 attempts in all); after the last, the case waits as a
    suspected mismatch for a supervisor (GET /mismatches), and is no violation until then."""
    ctx = _context(certificate_number, token, site, latitude, longitude, finger_position,
                   recapture_of)
    return service.verify(db_session=session, vault=vault, actor=actor,
                          settings=runtime.settings, matchers=runtime.matchers, ctx=ctx,
                          images=_images(runtime, face, finger))


@router.post("/inspections/identify", response_model=CheckOut)
def identify(session: SessionDep, vault: VaultDep, runtime: RuntimeDep, actor: Inspector,
             face: UploadFile | None = None, finger: UploadFile | None = None,
             site: OptStr = None, latitude: OptFloat = None, longitude: OptFloat = None,
             finger_position: OptInt = None):
    """Identify a person 1:N with no document: candidates above threshold, or no match."""
    ctx = _context(None, None, site, latitude, longitude, finger_position)
    return identify_service.identify(db_session=session, vault=vault, actor=actor,
                                     settings=runtime.settings, matchers=runtime.matchers,
                                     ctx=ctx, images=_images(runtime, face, finger))


@router.get("/inspections", response_model=CheckPage)
def list_checks(session: SessionDep, actor: CheckReader, offset: Offset = 0, limit: Limit = 50,
                district: str | None = None, outcome: Outcome | None = None,
                guard_id: DbId | None = None):
    """Return recorded checks, newest first, in the caller's district (the read is audited)."""
    items, total = records.list_page(db_session=session, actor=actor, district=district,
                                     outcome=outcome, guard_id=guard_id, offset=offset,
                                     limit=limit)
    return {"total": total, "items": items}


@router.get("/inspections/{check_id}", response_model=StoredCheckOut)
def get_check(check_id: DbId, session: SessionDep, actor: CheckReader):
    """Return one recorded check (the read is audited)."""
    return records.get(db_session=session, actor=actor, check_id=check_id)


@router.get("/inspections/{check_id}/holder", response_model=HolderOut)
def check_holder(check_id: DbId, session: SessionDep, actor: Inspector):
    """The certificate holder of a check: name, employer, post, photo link (own district)."""
    return holder.holder(db_session=session, actor=actor, check_id=check_id)


@router.get("/inspections/{check_id}/holder/photo")
def check_holder_photo(check_id: DbId, session: SessionDep, vault: VaultDep,
                       actor: Inspector) -> Response:
    """The holder's enrolled face photo, to compare with the person at the post (audited)."""
    data = holder.photo(db_session=session, vault=vault, actor=actor, check_id=check_id)
    return Response(data, media_type=media_type(data))  # no-store: every response
