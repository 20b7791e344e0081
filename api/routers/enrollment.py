"""Enrollment stations: sessions, face captures with instant verdicts, commit, reviews."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from api.deps import Admin, RuntimeDep, SessionDep, VaultDep, role_dep
from api.uploads import read_upload
from enrollment import archive, archive_pdf, fingers, idempotency, review, service
from enrollment.idempotency import IdempotencyKey
from enrollment.models import ReviewStatus
from enrollment.schemas import (
    AbandonIn,
    CaptureOut,
    CommitOut,
    FingerExceptionIn,
    FingerExceptionOut,
    ReviewOut,
    ReviewResolveIn,
    SessionIn,
    SessionOut,
)
from registry.fieldtypes import DbId
from registry.models import Role

router = APIRouter(tags=["enrollment"])
Station = role_dep(Role.admin, Role.station)
ArchiveReader = role_dep(Role.admin, Role.station, Role.inspector, Role.police)


async def idem_key(request: Request, actor: Station,
                   idempotency_key: Annotated[str | None, Header(max_length=100)] = None
                   ) -> IdempotencyKey | None:
    """Return the request's Idempotency-Key bound to its caller, method, path and body.

    The caller is the authenticated key id (however the key was sent: Bearer or X-Api-Key),
    the same ``Station`` dependency the route resolves, so FastAPI authenticates once.
    """
    if not idempotency_key:
        return None
    return IdempotencyKey.of(idempotency_key, actor.key_id, request.method, request.url.path,
                             await _body(request),
                             status=request.scope["route"].status_code or 200)


async def _body(request: Request) -> bytes:
    """Return the request's content: the raw body, or the parts of an already parsed form."""
    try:
        return await request.body()
    except RuntimeError:  # multipart: the form parser consumed the stream
        parts = []
        for name, value in (await request.form()).multi_items():
            if hasattr(value, "read"):
                content = await value.read()
                await value.seek(0)
                parts.append(name.encode() + b"=" + content)
            else:
                parts.append(f"{name}={value}".encode())
        return b"\0".join(parts)


IdemDep = Annotated[IdempotencyKey | None, Depends(idem_key)]


def _replayed(session, idem: IdempotencyKey | None) -> JSONResponse | None:  # noqa: ANN001
    """Return the stored response when this key was seen before."""
    hit = idempotency.replay(session, idem)
    return None if hit is None else JSONResponse(hit[1], status_code=hit[0],
                                                 headers={"Idempotent-Replay": "true"})


@router.post("/enrollments", status_code=201, response_model=SessionOut)
def open_session(body: SessionIn, session: SessionDep, vault: VaultDep, actor: Station,
                 idem: IdemDep):
    """Open an enrollment session (registering the guard from the ID document if new)."""
    return _replayed(session, idem) or service.open_session(
        db_session=session, vault=vault, actor=actor, data=body, idem=idem)


@router.get("/enrollments/{session_id}", response_model=SessionOut)
def get_session(session_id: DbId, session: SessionDep, runtime: RuntimeDep, actor: Station):
    """Return a session with every capture's verdict (a stale one shows ``expired``; the
    read is audited)."""
    return service.read(db_session=session, actor=actor, session_id=session_id,
                        ttl_h=runtime.settings.enrolment_session_ttl_h)


@router.post("/enrollments/{session_id}/face", status_code=201, response_model=CaptureOut)
def submit_face(session_id: DbId, file: UploadFile, session: SessionDep, vault: VaultDep,
                runtime: RuntimeDep, actor: Station, idem: IdemDep):
    """Submit a face photo; the quality verdict comes back at once (recapture on failure)."""
    replay = _replayed(session, idem)
    if replay:
        return replay
    s = runtime.settings
    data = read_upload(file, s.max_upload_bytes)
    return service.submit_face(db_session=session, vault=vault, actor=actor,
                               engine=runtime.face_engine, session_id=session_id, image=data,
                               max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels,
                               idem=idem, ttl_h=s.enrolment_session_ttl_h)


@router.post("/enrollments/{session_id}/abandon", response_model=SessionOut)
def abandon_session(session_id: DbId, session: SessionDep, actor: Station,
                    body: AbandonIn | None = None):
    """Close an open session without enrolling (e.g. after the server refused its commit)."""
    return service.abandon(db_session=session, actor=actor, session_id=session_id,
                           reason=body.reason if body else None)


@router.post("/quality/face")
def face_quality(file: UploadFile, runtime: RuntimeDep, actor: Station):
    """Check a camera frame against the enrolment gate without storing it (live feedback)."""
    from dataclasses import asdict

    from matching.imageio import decode

    s = runtime.settings
    pixels = decode(read_upload(file, s.max_upload_bytes), max_bytes=s.max_upload_bytes,
                    max_pixels=s.max_image_pixels).pixels
    result = runtime.face_engine.analyze(pixels)
    return {"passed": result.template is not None,
            "quality": result.template.quality if result.template else 0.0,
            "reasons": [asdict(r) for r in result.verdict.reasons]}


@router.post("/enrollments/{session_id}/fingers/{position}", status_code=201,
             response_model=CaptureOut)
def submit_finger(session_id: DbId, position: Annotated[int, Path(ge=1, le=10)],
                  file: UploadFile, session: SessionDep, vault: VaultDep, runtime: RuntimeDep,
                  actor: Station, idem: IdemDep):
    """Submit one impression of finger ``position`` (ISO 1-10); the verdict comes back at once."""
    replay = _replayed(session, idem)
    if replay:
        return replay
    s = runtime.settings
    data = read_upload(file, s.max_upload_bytes)
    result = fingers.analyse(runtime.finger_engine, data, position=position,
                             max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels,
                             ppi=s.finger_reader_ppi)
    return fingers.submit(db_session=session, vault=vault, actor=actor, session_id=session_id,
                          position=position, image=data, result=result,
                          min_quality=s.finger_min_quality, idem=idem,
                          ttl_h=s.enrolment_session_ttl_h)


@router.post("/enrollments/{session_id}/fingers/{position}/exception", status_code=201,
             response_model=FingerExceptionOut)
def finger_exception(session_id: DbId, position: Annotated[int, Path(ge=1, le=10)],
                     body: FingerExceptionIn, session: SessionDep, runtime: RuntimeDep,
                     actor: Station):
    """Record a finger (ISO position 1-10) that cannot be captured; a supervisor decides."""
    exc = service.request_finger_exception(db_session=session, actor=actor,
                                           session_id=session_id, position=position,
                                           reason_code=body.reason_code, reason=body.reason,
                                           ttl_h=runtime.settings.enrolment_session_ttl_h)
    return FingerExceptionOut.model_validate(exc, from_attributes=True)


@router.post("/finger-exceptions/{exception_id}/{decision}", response_model=FingerExceptionOut)
def decide_exception(exception_id: DbId, decision: Literal["approve", "reject"],
                     session: SessionDep, actor: Admin):
    """A supervisor approves or rejects a finger exception."""
    exc = service.decide_finger_exception(db_session=session, actor=actor,
                                          exception_id=exception_id,
                                          approve=decision == "approve")
    return FingerExceptionOut.model_validate(exc, from_attributes=True)


@router.post("/enrollments/{session_id}/commit", response_model=CommitOut)
def commit(session_id: DbId, session: SessionDep, vault: VaultDep, runtime: RuntimeDep,
           actor: Station, idem: IdemDep):
    """Commit: 1:N de-duplication, then one transaction (or a review case on a hit)."""
    replay = _replayed(session, idem)
    if replay:
        return replay
    return service.commit(db_session=session, vault=vault, actor=actor,
                          galleries=runtime.galleries, session_id=session_id, idem=idem,
                          ttl_h=runtime.settings.enrolment_session_ttl_h)


@router.get("/reviews", response_model=list[ReviewOut])
def list_reviews(session: SessionDep, actor: Admin, status: ReviewStatus = ReviewStatus.open):
    """List review cases (open by default) in the caller's reach; the read is audited."""
    return [review.to_out(session, c) for c in review.list_cases(db_session=session, actor=actor,
                                                      status=status)]


@router.get("/reviews/{case_id}/images/{kind}/{item_id}")
def review_image(case_id: DbId, kind: Literal["capture", "biometric"], item_id: DbId,
                 session: SessionDep, vault: VaultDep, actor: Admin) -> Response:
    """One image of a review case's evidence (the reviewer compares them side by side)."""
    data, media = review.image(db_session=session, vault=vault, actor=actor, case_id=case_id,
                               kind=kind, item_id=item_id)
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


@router.post("/reviews/{case_id}/resolve", response_model=ReviewOut)
def resolve_review(case_id: DbId, body: ReviewResolveIn, session: SessionDep, vault: VaultDep,
                   runtime: RuntimeDep, actor: Admin):
    """Resolve a possible duplicate: different people (enrol) or same person (block)."""
    case = review.resolve_review(db_session=session, vault=vault, actor=actor,
                                  galleries=runtime.galleries, case_id=case_id,
                                  same_person=body.outcome == "same_person", note=body.note)
    return review.to_out(session, case)


@router.get("/guards/{guard_id}/archive.pdf")
def guard_archive_pdf(guard_id: DbId, session: SessionDep, vault: VaultDep, runtime: RuntimeDep,
                      actor: ArchiveReader):
    """The guard's electronic practice archive as a printable PDF."""
    doc = archive.build(db_session=session, vault=vault, actor=actor, guard_id=guard_id)
    photo = archive.face_image(db_session=session, vault=vault, actor=actor, guard_id=guard_id)
    pdf = archive_pdf.render(doc, font_file=runtime.settings.pdf_font_file, photo=photo)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="guard-{guard_id}-archive.pdf"'})


@router.get("/guards/{guard_id}/archive")
def guard_archive(guard_id: DbId, session: SessionDep, vault: VaultDep, actor: ArchiveReader):
    """The guard's electronic practice archive (电子档案) as one JSON document."""
    return archive.build(db_session=session, vault=vault, actor=actor, guard_id=guard_id)

