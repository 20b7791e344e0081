"""Fingerprint captures at the station: an instant verdict per impression, best attempt kept."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from biometrics.models import Modality
from biometrics.purposes import FINGER_IMAGE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from enrollment import idempotency
from enrollment.exceptions import TooManyAttempts
from enrollment.idempotency import IdempotencyKey
from enrollment.models import Capture
from enrollment.schemas import CaptureOut
from matching.exceptions import ImageError
from matching.finger import FingerAnalysis, FingerprintEngine, decode_fingerprint
from matching.finger.params import FingerParams
from registry import audit, policy
from registry.audit import Actor
from registry.crypto import Vault

MAX_ATTEMPTS = 3
# Fewer minutiae than this cannot be matched reliably (MCC needs neighbours around each).
MIN_MINUTIAE = 12
# The ridge-evidence limits of the extraction (matching/finger/params.py).
RIDGES = FingerParams()
ADVICE = {
    "no_fingerprint_area": "no finger on the reader: place the finger flat on the glass",
    "finger_no_ridges": "no ridge pattern found: this is not a fingerprint image; place the "
                        "finger on the reader",
    "finger_low_quality": "the print is unclear: clean the glass, dry or moisten the finger "
                          "and press evenly",
    "finger_few_minutiae": "too little of the finger was captured: roll it slightly and "
                           "press the centre of the pad on the reader",
}


def _reason(code: str, value: float, limit: float) -> dict:
    """Return one failed check as the API shows it."""
    return {"code": code, "value": round(value, 2), "limit": limit, "advice": ADVICE[code]}


def judge(result: FingerAnalysis | None, *, min_quality: float) -> list[dict]:
    """Return the failed checks of one impression (empty when it passes)."""
    if result is None:
        return [_reason("no_fingerprint_area", 0, 1)]
    reasons = []
    share, blocks = result.features["ridges"], result.features["ridge_blocks"]
    if share < RIDGES.min_ridge_share:
        reasons.append(_reason("finger_no_ridges", share, RIDGES.min_ridge_share))
    elif blocks < RIDGES.min_ridge_blocks:
        reasons.append(_reason("finger_no_ridges", blocks, RIDGES.min_ridge_blocks))
    if result.template.quality < min_quality:
        reasons.append(_reason("finger_low_quality", result.template.quality, min_quality))
    if len(result.template.minutiae) < MIN_MINUTIAE:
        reasons.append(_reason("finger_few_minutiae", len(result.template.minutiae),
                               MIN_MINUTIAE))
    return reasons


def analyse(engine: FingerprintEngine, image: bytes, *, position: int, max_bytes: int,
            max_pixels: int, ppi: int | None = None) -> FingerAnalysis | None:
    """Decode (at the reader's ``ppi`` when given) and extract; None: no print."""
    gray = decode_fingerprint(image, max_bytes=max_bytes, max_pixels=max_pixels, ppi=ppi)
    try:
        return engine.analyze(gray, position=position)
    except ImageError as exc:
        if exc.code == "no_fingerprint_area":
            return None
        raise


def submit(*, db_session: Session, vault: Vault, actor: Actor, session_id: int, position: int,
           image: bytes, result: FingerAnalysis | None, min_quality: float,
           idem: IdempotencyKey | None = None, ttl_h: float | None = None) -> CaptureOut:
    """Keep one impression with its verdict; return the verdict at once."""
    from enrollment.service import _capture_out, _session

    row = _session(db_session, actor, session_id, ttl_h=ttl_h)
    attempts = db_session.scalar(select(func.count()).select_from(Capture).where(
        Capture.session_id == row.id, Capture.modality == Modality.finger,
        Capture.position == position)) or 0
    if attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts(f"finger {position} already has {MAX_ATTEMPTS} attempts")
    reasons = judge(result, min_quality=min_quality)
    passed = not reasons
    template = result.template if result else None
    capture = Capture(
        session_id=row.id, modality=Modality.finger, position=position, attempt=attempts + 1,
        passed=passed, quality=template.quality if template else 0.0,
        verdict=json.dumps({"reasons": reasons,
                            "measures": {**(result.features if result else {}),
                                         "minutiae": len(template.minutiae) if template
                                         else 0}}),
        template_enc=vault.encrypt(db_session, template.to_bytes(),
                                   purpose=FINGER_TEMPLATE_PURPOSE) if passed else None,
        image_enc=vault.encrypt(db_session, image, purpose=FINGER_IMAGE_PURPOSE),
        model_id=template.model_id if template else None)
    db_session.add(capture)
    db_session.flush()
    audit.record(db_session, actor, "enrollment.finger", resource_type="guard",
                 resource_id=row.guard_id, detail={"session": row.id, "position": position,
                                                   "passed": passed},
                 district=policy.guard_districts(db_session, [row.guard_id]).get(row.guard_id))
    out = _capture_out(capture)
    idempotency.remember(db_session, idem, out.model_dump(mode="json"))
    db_session.commit()
    return out
