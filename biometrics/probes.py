"""Probes: turn a live photo or impression into a template, and score it against a guard.

A :class:`ProbeMaker` makes probes; :class:`LocalProbes` computes them in the calling
process and ``biometrics.compute.ComputePool`` in worker processes. :func:`score` is the one
1:1 comparison with a guard's enrolled templates (spot checks, exam doors, identification).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from biometrics import records
from biometrics.models import Modality
from biometrics.purposes import FACE_TEMPLATE_PURPOSE, FINGER_TEMPLATE_PURPOSE
from matching.face import FaceEngine, FaceTemplate, best_similarity
from matching.finger import FingerprintEngine, FingerprintTemplate, Matcher, decode_fingerprint
from registry.crypto import Vault


@dataclass(frozen=True)
class Probe:
    """One modality's probe: its template, quality, and (for fingers) the position claimed."""

    modality: str  # "face" | "finger"
    template: FaceTemplate | FingerprintTemplate
    quality: float
    position: int | None = None


def face_probe(engine: FaceEngine, image: bytes, *, max_bytes: int, max_pixels: int) -> Probe:
    """Return the face probe of a photo; raise ImageError/QualityError when unusable.

    The subject of a spot check is the most visible, central face in the photo (a bystander
    further back does not make the photo unusable, as it would an enrolment photo), judged by
    the probe gate: looser pose, size and blur limits than enrolment (FaceParams.probe_gate).
    """
    template = engine.probe_template(image, max_bytes=max_bytes, max_pixels=max_pixels)
    return Probe("face", template, template.quality)


def finger_probe(engine: FingerprintEngine, image: bytes, *, position: int | None, max_bytes: int,
                 max_pixels: int, ppi: int | None = None) -> Probe:
    """Return the fingerprint probe of an impression (read at ``ppi`` when given)."""
    gray = decode_fingerprint(image, max_bytes=max_bytes, max_pixels=max_pixels, ppi=ppi)
    template = engine.extract(gray)
    return Probe("finger", template, float(template.quality), position)


class ProbeMaker(Protocol):
    """Something that turns images into probes (in this process or in worker processes)."""

    def face_probe(self, image: bytes, *, max_bytes: int, max_pixels: int) -> Probe:
        """Return the face probe of a photo; raise ImageError/QualityError when unusable."""
        ...

    def finger_probe(self, image: bytes, *, position: int | None, max_bytes: int,
                     max_pixels: int, ppi: int | None = None) -> Probe:
        """Return the fingerprint probe of an impression (read at ``ppi`` when given)."""
        ...


@dataclass(frozen=True)
class LocalProbes:
    """Probes computed with these engines in the calling process (biometrics.compute.ComputePool
    offers the same two methods, computed in its worker processes)."""

    face: FaceEngine
    finger: FingerprintEngine | None = None

    def face_probe(self, image: bytes, *, max_bytes: int, max_pixels: int) -> Probe:
        """Return :func:`face_probe` with this face engine."""
        return face_probe(self.face, image, max_bytes=max_bytes, max_pixels=max_pixels)

    def finger_probe(self, image: bytes, *, position: int | None, max_bytes: int,
                     max_pixels: int, ppi: int | None = None) -> Probe:
        """Return :func:`finger_probe` with this fingerprint engine."""
        return finger_probe(self.finger, image, position=position, max_bytes=max_bytes,
                            max_pixels=max_pixels, ppi=ppi)


def score(db_session: Session, vault: Vault, guard_id: int, probe: Probe) -> float | None:
    """Return the best score of ``probe`` against the guard's templates (None: none on file).

    The best over several templates (a guard may hold several faces, and a finger probe
    without a claimed position is tried against every finger) follows the face engine's rule:
    a genuine probe needs to resemble one good enrolment, not their average.
    """
    if probe.modality == "face":
        rows = records.current(db_session, guard_id, [Modality.face])
        if not rows:
            return None
        templates = [FaceTemplate.from_bytes(vault.decrypt(db_session, r.template_enc,
                                                           purpose=FACE_TEMPLATE_PURPOSE))
                     for r in rows]
        return float(best_similarity(probe.template, templates))
    rows = records.current(db_session, guard_id, [Modality.finger], position=probe.position)
    if not rows:
        return None
    matcher = Matcher(probe.template)
    return max(float(matcher.match(FingerprintTemplate.from_bytes(
        vault.decrypt(db_session, r.template_enc, purpose=FINGER_TEMPLATE_PURPOSE))))
        for r in rows)
