"""Bring stored fingerprint templates up to the current extraction model.

Every finger biometric keeps its encrypted impression beside its template, so when the
extraction chain changes (a new ``matching.finger.MODEL_ID``) the templates can be made
again from the images instead of asking every guard back to a station. Each re-made
template replaces the old one in the same transaction as its gallery change and its audit
entry; a run is resumable (it only picks templates of another model) and a template whose
image no longer yields a print is left as it was and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.models import Biometric, Modality
from biometrics.purposes import FINGER_IMAGE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from matching.exceptions import ImageError
from matching.finger import MODEL_ID, FingerprintEngine, decode_fingerprint
from registry import audit
from registry.audit import Actor
from registry.crypto import Vault


@dataclass
class ReextractReport:
    """What one run did: templates re-made, images that failed, templates still old."""

    model_id: str
    reextracted: int = 0
    failed: dict[int, str] = field(default_factory=dict)  # biometric id -> error code
    remaining: int = 0


def stale(db_session: Session) -> int:
    """Return how many current finger templates were made by another model."""
    return db_session.scalar(select(func.count()).select_from(Biometric).where(
        *_stale_rows())) or 0


def _stale_rows() -> tuple:
    """The conditions of a current finger template of another model that has its image."""
    return (Biometric.modality == Modality.finger, Biometric.superseded_at.is_(None),
            Biometric.model_id != MODEL_ID, Biometric.image_enc.is_not(None))


def reextract_fingers(*, db_session: Session, vault: Vault, engine: FingerprintEngine,
                      actor: Actor, max_bytes: int, max_pixels: int, batch: int = 200,
                      limit: int | None = None, ppi: int | None = None) -> ReextractReport:
    """Re-make stale finger templates from their images, committing every ``batch``."""
    report = ReextractReport(MODEL_ID)
    after = 0
    while limit is None or report.reextracted + len(report.failed) < limit:
        take = batch if limit is None else min(batch, limit - report.reextracted
                                               - len(report.failed))
        rows = db_session.scalars(select(Biometric).where(*_stale_rows(), Biometric.id > after)
                                  .order_by(Biometric.id).limit(take)).all()
        if not rows:
            break
        for bio in rows:
            after = bio.id
            _one(db_session, vault, engine, actor, bio, report, max_bytes, max_pixels, ppi)
        db_session.commit()
    report.remaining = stale(db_session)
    return report


def _one(db_session: Session, vault: Vault, engine: FingerprintEngine, actor: Actor,
         bio: Biometric, report: ReextractReport, max_bytes: int, max_pixels: int,
         ppi: int | None = None) -> None:
    """Re-make one template (or record why its image no longer yields one)."""
    image = vault.decrypt(db_session, bio.image_enc, purpose=FINGER_IMAGE_PURPOSE)
    old_model = bio.model_id
    try:
        gray = decode_fingerprint(image, max_bytes=max_bytes, max_pixels=max_pixels, ppi=ppi)
        template = engine.extract(gray, position=bio.position)
    except ImageError as exc:
        report.failed[bio.id] = exc.code
        audit.record(db_session, actor, "biometric.reextract_failed", resource_type="biometric",
                     resource_id=bio.id, detail={"guard_id": bio.guard_id, "code": exc.code,
                                                 "model_id": old_model})
        return
    bio.template_enc = vault.encrypt(db_session, template.to_bytes(),
                                     purpose=FINGER_TEMPLATE_PURPOSE)
    bio.quality = template.quality
    bio.model_id = template.model_id
    feed.record_add(db_session, [bio.id])  # galleries replace it
    audit.record(db_session, actor, "biometric.reextract", resource_type="biometric",
                 resource_id=bio.id, detail={"guard_id": bio.guard_id, "from": old_model,
                                             "to": template.model_id,
                                             "minutiae": len(template.minutiae)})
    report.reextracted += 1
