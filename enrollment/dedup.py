"""1:N de-duplication at commit: the new face and every new finger against everyone else.

A guard becomes a candidate when their face reaches the face duplicate threshold or any of
their fingers reaches the finger duplicate threshold; both are named by the false-match
rate they target (``face_fmr_1e-4``, ``finger_fmr_1e-4`` by default), so with one face and
two fingers searched the chance that an innocent enrolment opens a review per gallery guard
stays near 3e-4. The candidate list keeps every score, so the reviewer sees the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics.gallery import FaceGallery, FingerGallery, GuardHit
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


@dataclass(frozen=True)
class Probe:
    """The templates a commit searches with: its face and each finger, by capture."""

    face_capture: int
    face: np.ndarray
    fingers: dict[int, tuple[int, FingerprintTemplate]]  # position -> (capture id, template)

    @property
    def captures(self) -> tuple[int, ...]:
        """The capture ids the probe was made of (a changed session needs a new search)."""
        return (self.face_capture, *(c for c, _ in self.fingers.values()))


@dataclass(frozen=True)
class BulkSearch:
    """A search of the whole galleries done outside the lock, and how far they were then."""

    probe: Probe
    face_generation: int
    finger_generation: int
    hits: list[tuple[str, int, GuardHit]]  # (kind: "face" | position, capture id, hit)


def probe_of(db_session: Session, vault: Vault, face: Capture,
             fingers: dict[int, Capture]) -> Probe:
    """Decrypt the session's best face and fingers into the templates to search with."""
    vector = FaceTemplate.from_bytes(vault.decrypt(db_session, face.template_enc,
                                                   purpose=FACE_TEMPLATE_PURPOSE)).vector
    prints = {p: (c.id, FingerprintTemplate.from_bytes(vault.decrypt(
        db_session, c.template_enc, purpose=FINGER_TEMPLATE_PURPOSE)))
        for p, c in sorted(fingers.items())}
    return Probe(face_capture=face.id, face=vector, fingers=prints)


def _search(face: FaceGallery, finger: FingerGallery, g: Galleries, probe: Probe,
            guard_id: int) -> list[tuple[str, int, GuardHit]]:
    """Search ``face`` and ``finger`` (whole galleries or only their newest templates)."""
    hits = [("face", probe.face_capture, h) for h in face.search(
        probe.face, threshold=g.face_threshold, exclude_guard=guard_id)]
    for position, (cap, template) in probe.fingers.items():
        hits += [(str(position), cap, h) for h in finger.search(
            template, threshold=g.finger_threshold, exclude_guard=guard_id)]
    return hits


def search_bulk(db_session: Session, vault: Vault, g: Galleries, guard_id: int,
                face: Capture, fingers: dict[int, Capture]) -> BulkSearch:
    """Catch up and search the whole galleries (outside the de-duplication lock)."""
    g.face.catch_up(db_session, vault)
    g.finger.catch_up(db_session, vault)
    # Generations first: whatever a concurrent catch-up adds during the search is searched
    # again under the lock (an overlap, never a gap).
    gens = g.face.generation, g.finger.generation
    probe = probe_of(db_session, vault, face, fingers)
    return BulkSearch(probe, gens[0], gens[1], _search(g.face, g.finger, g, probe, guard_id))


def candidates_since(db_session: Session, vault: Vault, g: Galleries, guard_id: int,
                     face: Capture, fingers: dict[int, Capture],
                     bulk: BulkSearch) -> list[dict]:
    """Under the lock: catch up, search only what arrived since ``bulk``, merge the hits.

    Falls back to a whole search when the session's captures changed since ``bulk`` or a
    gallery no longer keeps every template applied since.
    """
    g.face.catch_up(db_session, vault)
    g.finger.catch_up(db_session, vault)
    captures = (face.id, *(c.id for _, c in sorted(fingers.items())))
    if captures != bulk.probe.captures:  # the session changed: decrypt and search it all
        probe = probe_of(db_session, vault, face, fingers)
        return _entries(_search(g.face, g.finger, g, probe, guard_id))
    probe = bulk.probe  # the same captures: no second decrypt and parse under the lock
    new_face, new_finger = g.face.since(bulk.face_generation), g.finger.since(
        bulk.finger_generation)
    if new_face is None or new_finger is None:
        return _entries(_search(g.face, g.finger, g, probe, guard_id))
    # A hit on a template superseded since then no longer counts (as in a search now).
    kept = [h for h in bulk.hits if h[2].biometric_id in
            (g.face.owner if h[0] == "face" else g.finger.owner)]
    return _entries(kept + _search(new_face, new_finger, g, probe, guard_id))


def candidates(db_session: Session, vault: Vault, g: Galleries, guard_id: int, face: Capture,
               fingers: dict[int, Capture]) -> list[dict]:
    """Return the other guards the new templates match, strongest evidence first."""
    g.face.catch_up(db_session, vault)
    g.finger.catch_up(db_session, vault)
    probe = probe_of(db_session, vault, face, fingers)
    return _entries(_search(g.face, g.finger, g, probe, guard_id))


def _entries(hits: list[tuple[str, int, GuardHit]]) -> list[dict]:
    """Group hits by guard (best score per face / finger), strongest evidence first."""
    found: dict[int, dict] = {}
    for kind, cap, hit in hits:
        # "matched": the candidate's biometric each new capture hit, for side-by-side review.
        entry = found.setdefault(hit.guard_id, {"guard_id": hit.guard_id, "fingers": {},
                                                "matched": {}})
        score = round(hit.score, 4)
        scores = entry if kind == "face" else entry["fingers"]
        if score > scores.get(kind, -1.0):
            scores[kind] = score
            entry["matched"][kind] = {"capture": cap, "biometric": hit.biometric_id}
    out = []
    for entry in found.values():
        entry["fingers"] = dict(sorted(entry["fingers"].items(), key=lambda kv: int(kv[0])))
        modalities = (["face"] if "face" in entry else []) + (["finger"] if entry["fingers"]
                                                              else [])
        entry["modality"] = "+".join(modalities)
        entry["score"] = entry.get("face", max(entry["fingers"].values(), default=0.0))
        out.append(entry)
    return sorted(out, key=lambda e: (-len(e["modality"]), -e["score"]))
