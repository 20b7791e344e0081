"""Review of a possible duplicate: the new captures and the candidates' enrolled biometrics
they matched, side by side, for the reviewer only.

Each image is reachable through its case and only if the case's evidence names it, so the
review endpoints cannot be used to browse other guards' biometrics; every view is audited.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import records
from enrollment import dedup
from enrollment.dedup import Galleries
from enrollment.models import (
    Capture,
    EnrollmentSession,
    ReviewCase,
    ReviewStatus,
    SessionStatus,
)
from enrollment.schemas import ReviewOut
from enrollment.service import _store, case_districts
from registry import audit, guards, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound
from registry.models import utcnow

# File signatures of the image formats stations send, for the response's media type.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
               (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"),
               (b"\xff\xa0", "image/x-wsq"))


def evidence(case: ReviewCase) -> list[dict]:
    """Return the image pairs to compare: per candidate and modality, new and enrolled."""
    pairs = []
    for cand in json.loads(case.candidates):
        for key, ids in sorted(cand.get("matched", {}).items()):
            pairs.append({
                "guard_id": cand["guard_id"], "modality": "face" if key == "face" else "finger",
                "position": None if key == "face" else int(key),
                "score": cand.get("face") if key == "face" else cand["fingers"][key],
                "new": f"/reviews/{case.id}/images/capture/{ids['capture']}",
                "enrolled": f"/reviews/{case.id}/images/biometric/{ids['biometric']}"})
    return pairs


def image(*, db_session: Session, vault: Vault, actor: Actor, case_id: int, kind: str,
          item_id: int) -> tuple[bytes, str]:
    """Return one image of a case's evidence (decrypted) and its media type; audited."""
    case = get_case(db_session, actor, case_id)
    named = {(kind_, int(url.rsplit("/", 1)[1])) for p in evidence(case)
             for kind_, url in (("capture", p["new"]), ("biometric", p["enrolled"]))}
    if (kind, item_id) not in named:
        raise NotFound(f"review case {case_id} has no {kind} image {item_id}")
    row = db_session.get(Capture, item_id) if kind == "capture" else records.get(db_session,
                                                                                 item_id)
    if row is None or row.image_enc is None:
        raise NotFound(f"no image is on file for {kind} {item_id}")
    data = vault.decrypt(db_session, row.image_enc, purpose=records.image_purpose(row.modality))
    audit.record(db_session, actor, "enrollment.review_image_viewed", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id, kind: item_id},
                 district=policy.entry_district(*case_districts(db_session, case)))
    db_session.commit()
    return data, media_type(data)


def media_type(data: bytes) -> str:
    """Return the media type of an image from its file signature."""
    return next((m for sig, m in _SIGNATURES if data.startswith(sig)),
                "application/octet-stream")


def list_cases(*, db_session: Session, actor: Actor, status: ReviewStatus) -> list[ReviewCase]:
    """Return the cases of ``status`` within the caller's reach; the read (scores) is audited."""
    rows = db_session.scalars(select(ReviewCase).where(ReviewCase.status == status)
                              .order_by(ReviewCase.id)).all()
    mine = [c for c in rows if policy.visible_all(actor, case_districts(db_session, c))]
    audit.record(db_session, actor, "enrollment.review_list", resource_type="review_case",
                 detail={"status": status.value, "cases": [c.id for c in mine]},
                 district=actor.district)
    db_session.commit()
    return mine


def get_case(db_session: Session, actor: Actor, case_id: int) -> ReviewCase:
    """Return a review case all of whose guards are within the caller's reach.

    A case spanning districts is for a city-level (unscoped) reviewer only.
    """
    case = db_session.get(ReviewCase, case_id)
    if case is None or not policy.visible_all(actor, case_districts(db_session, case)):
        raise NotFound(f"review case {case_id} not found")
    return case


def resolve_review(*, db_session: Session, vault: Vault, actor: Actor, galleries: Galleries,
                   case_id: int, same_person: bool, note: str | None) -> ReviewCase:
    """Decide a review: different people (enrol) or the same person (block, flag fraud)."""
    case = get_case(db_session, actor, case_id)
    galleries.face.require_loaded()  # before any write: the commit's catch-up must not refuse
    galleries.finger.require_loaded()
    if case.status != ReviewStatus.open:
        raise Conflict(f"review case {case_id} is already {case.status.value}")
    row = db_session.get(EnrollmentSession, case.session_id)
    case.resolved_by, case.resolved_at, case.note = actor.key_id, utcnow(), note
    if same_person:
        case.status = ReviewStatus.same_person
        row.status, row.closed_at = SessionStatus.blocked, utcnow()
    else:
        case.status = ReviewStatus.different_people
        _store(db_session, actor, row, dedup.best_face(db_session, row.id),
               dedup.best_fingers(db_session, row.id))
    audit.record(db_session, actor, "enrollment.review_resolved", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id,
                                                    "outcome": case.status.value,
                                                    "candidates": json.loads(case.candidates)},
                 district=policy.entry_district(*case_districts(db_session, case)))
    db_session.commit()
    galleries.face.catch_up(db_session, vault)
    galleries.finger.catch_up(db_session, vault)
    return case


def to_out(db_session: Session, case: ReviewCase) -> ReviewOut:
    """Return the API view of a review case, with the names of the people it is about."""
    pairs = evidence(case)
    return ReviewOut(people=guards.who(db_session, [case.guard_id,
                                                    *(p["guard_id"] for p in pairs)]),
                     id=case.id, session_id=case.session_id, guard_id=case.guard_id,
                     status=case.status, candidates=json.loads(case.candidates),
                     opened_at=case.opened_at, resolved_by=case.resolved_by,
                     resolved_at=case.resolved_at, note=case.note,
                     evidence=pairs)
