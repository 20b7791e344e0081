"""The certificate holder as the inspector sees them beside a check's decision: name,
employer and enrolled photo, for a guard of the inspector's own district only (a guard of
another district stays at minimal disclosure, docs/security-policy.md)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from biometrics import records
from biometrics.models import Biometric, Modality
from inspection.models import SpotCheck
from registry import audit, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import NotFound
from registry.models import Guard, Organisation


def _guard_of(db_session: Session, actor: Actor, check_id: int) -> tuple[SpotCheck, Guard]:
    """Return a check in reach and its guard in reach; anything else reads as absent."""
    row = db_session.get(SpotCheck, check_id)
    guard = db_session.get(Guard, row.guard_id) if row and row.guard_id else None
    if guard is None or not policy.visible(actor, row.district) \
            or not policy.visible(actor, guard.district):
        raise NotFound(f"no certificate holder is on file for check {check_id}")
    return row, guard


def _face(db_session: Session, guard_id: int) -> Biometric | None:
    """Return the guard's current enrolled face with an image, if any."""
    faces = records.current(db_session, guard_id, [Modality.face], with_image=True)
    return max(faces, key=lambda b: b.id) if faces else None


def holder(*, db_session: Session, actor: Actor, check_id: int) -> dict:
    """Return the holder of a check's certificate (name, employer, photo link); audited."""
    row, guard = _guard_of(db_session, actor, check_id)
    org = db_session.get(Organisation, guard.employer_id) if guard.employer_id else None
    face = _face(db_session, guard.id)
    audit.record(db_session, actor, "inspection.holder_read", resource_type="guard",
                 resource_id=guard.id, detail={"check": row.id}, district=guard.district)
    db_session.commit()
    return {"check_id": row.id, "guard_id": guard.id, "name": guard.name,
            "certificate_number": row.certificate_number,
            "employer": org.name if org else None, "post_site": guard.post_site,
            "duty_status": guard.duty_status.value,
            "photo": f"/inspections/{row.id}/holder/photo" if face else None}


def photo(*, db_session: Session, vault: Vault, actor: Actor, check_id: int) -> bytes:
    """Return the holder's enrolled face image (decrypted); audited."""
    row, guard = _guard_of(db_session, actor, check_id)
    face = _face(db_session, guard.id)
    if face is None:
        raise NotFound(f"no photo is on file for the holder of check {check_id}")
    data = vault.decrypt(db_session, face.image_enc, purpose=records.image_purpose(face.modality))
    audit.record(db_session, actor, "inspection.holder_photo_viewed", resource_type="guard",
                 resource_id=guard.id, detail={"check": row.id, "biometric": face.id},
                 district=guard.district)
    db_session.commit()
    return data
