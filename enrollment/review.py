"""Review of a possible duplicate: the new captures and the candidates' enrolled biometrics
they matched, side by side, for the reviewer only.

Each image is reachable through its case and only if the case's evidence names it, so the
review endpoints cannot be used to browse other guards' biometrics; every view is audited.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from enrollment.fingers import FINGER_IMAGE_PURPOSE
from enrollment.models import Biometric, Capture, Modality, ReviewCase
from enrollment.service import FACE_IMAGE_PURPOSE
from registry import audit
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import NotFound

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
    case = db_session.get(ReviewCase, case_id)
    if case is None:
        raise NotFound(f"review case {case_id} not found")
    named = {(kind_, int(url.rsplit("/", 1)[1])) for p in evidence(case)
             for kind_, url in (("capture", p["new"]), ("biometric", p["enrolled"]))}
    if (kind, item_id) not in named:
        raise NotFound(f"review case {case_id} has no {kind} image {item_id}")
    row = db_session.get(Capture if kind == "capture" else Biometric, item_id)
    if row is None or row.image_enc is None:
        raise NotFound(f"no image is on file for {kind} {item_id}")
    purpose = FACE_IMAGE_PURPOSE if row.modality == Modality.face else FINGER_IMAGE_PURPOSE
    data = vault.decrypt(db_session, row.image_enc, purpose=purpose)
    audit.record(db_session, actor, "enrollment.review_image_viewed", resource_type="guard",
                 resource_id=case.guard_id, detail={"case": case.id, kind: item_id})
    db_session.commit()
    return data, media_type(data)


def media_type(data: bytes) -> str:
    """Return the media type of an image from its file signature."""
    return next((m for sig, m in _SIGNATURES if data.startswith(sig)),
                "application/octet-stream")
