"""1:N de-duplication at commit: the new face and every new finger against everyone else.

A guard becomes a candidate when their face reaches the face duplicate threshold or any of
their fingers reaches the finger duplicate threshold; both are named by the false-match
rate they target (``face_fmr_1e-4``, ``finger_fmr_1e-4`` by default), so with one face and
two fingers searched the chance that an innocent enrolment opens a review per gallery guard
stays near 3e-4. The candidate list keeps every score, so the reviewer sees the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.models import Modality
from biometrics.purposes import FACE_TEMPLATE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from enrollment.exceptions import NothingToCommit
from enrollment.models import Capture, ExceptionStatus, FingerException
from matching.face import FaceTemplate
from matching.finger import FingerprintTemplate
from registry.crypto import Vault


@dataclass(frozen=True)
class Galleries:
    """Both galleries and the thresholds at which a hit opens a review."""

    face: FaceGallery
    finger: FingerGallery
    face_threshold: float
    finger_threshold: float
    min_fingers: int = 2


def best_face(db_session: Session, session_id: int) -> Capture:
    """Return the passing face capture of highest quality; raise when there is none."""
    best = db_session.scalars(select(Capture).where(
        Capture.session_id == session_id, Capture.modality == Modality.face,
        Capture.passed.is_(True)).order_by(Capture.quality.desc(), Capture.id)).first()
    if best is None:
        raise NothingToCommit("no face photo of this session passed the quality gate")
    return best


def best_fingers(db_session: Session, session_id: int) -> dict[int, Capture]:
    """Return the best passing capture of each finger position."""
    out: dict[int, Capture] = {}
    for c in db_session.scalars(select(Capture).where(
            Capture.session_id == session_id, Capture.modality == Modality.finger,
            Capture.passed.is_(True)).order_by(Capture.quality.desc(), Capture.id)):
        out.setdefault(c.position, c)
    return out


def check_fingers(db_session: Session, guard_id: int, fingers: dict[int, Capture],
                  min_fingers: int) -> None:
    """Refuse a commit with fewer fingers than the policy asks (exceptions count)."""
    excused = set(db_session.scalars(select(FingerException.position).where(
        FingerException.guard_id == guard_id,
        FingerException.status != ExceptionStatus.rejected)))
    have = len(set(fingers) | excused)
    if have < min_fingers:
        raise NothingToCommit(f"{have} finger(s) captured or excused; the policy needs "
                              f"{min_fingers} (normally both index fingers, positions 2 and 7)")


def candidates(db_session: Session, vault: Vault, g: Galleries, guard_id: int, face: Capture,
               fingers: dict[int, Capture]) -> list[dict]:
    """Return the other guards the new templates match, strongest evidence first."""
    g.face.catch_up(db_session, vault)
    g.finger.catch_up(db_session, vault)
    found: dict[int, dict] = {}
    probe = FaceTemplate.from_bytes(vault.decrypt(db_session, face.template_enc,
                                                  purpose=FACE_TEMPLATE_PURPOSE))
    def entry_of(guard: int) -> dict:
        # "matched": the candidate's biometric each new capture hit, for side-by-side review.
        return found.setdefault(guard, {"guard_id": guard, "fingers": {}, "matched": {}})

    for hit in g.face.search(probe.vector, threshold=g.face_threshold, exclude_guard=guard_id):
        entry = entry_of(hit.guard_id)
        entry["face"] = round(hit.score, 4)
        entry["matched"]["face"] = {"capture": face.id, "biometric": hit.biometric_id}
    for position, cap in sorted(fingers.items()):
        template = FingerprintTemplate.from_bytes(vault.decrypt(
            db_session, cap.template_enc, purpose=FINGER_TEMPLATE_PURPOSE))
        for hit in g.finger.search(template, threshold=g.finger_threshold,
                                   exclude_guard=guard_id):
            entry = entry_of(hit.guard_id)
            entry["fingers"][str(position)] = round(hit.score, 4)
            entry["matched"][str(position)] = {"capture": cap.id, "biometric": hit.biometric_id}
    out = []
    for entry in found.values():
        modalities = (["face"] if "face" in entry else []) + (["finger"] if entry["fingers"]
                                                              else [])
        entry["modality"] = "+".join(modalities)
        entry["score"] = entry.get("face", max(entry["fingers"].values(), default=0.0))
        out.append(entry)
    return sorted(out, key=lambda e: (-len(e["modality"]), -e["score"]))
