"""1:N identification at a duty post: who is this, with no document?"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics.probes import Probe, score
from inspection.models import CheckMode, Outcome
from inspection.schemas import Candidate, CheckContext, CheckOut
from inspection.service import Images, Matchers, _probes, _record
from matching.fusion import evidence, fmr_of_name
from registry.audit import Actor
from registry.crypto import Vault
from registry.models import Certificate, Guard, Organisation
from registry.settings import Settings

# How many gallery neighbours each modality contributes before fusion re-scores them.
SHORTLIST = 50
# An exact face index scores in float32 as the re-scoring does; this covers the rounding.
EXACT_SCORE_SLACK = 1e-4


def _exact_face_index(m: Matchers) -> bool:
    """True when the face gallery scores exactly (its cosines are the re-scored values)."""
    return m.face_gallery is not None and m.face_gallery.index.mode == "exact"


def _face_floor(m: Matchers, probes: list[Probe], identify_fmr: float) -> float:
    """Return the lowest gallery face score worth re-scoring from the database.

    With a finger probe too, a weak face score may still be fused into a match, so the floor
    is the loosest calibrated threshold. With the face alone, a guard needs the face
    threshold of the identification's false-match rate itself; an exact index gives the
    re-scored value, so guards below it are not fetched and decrypted (at 100k guards the
    loosest floor lets ~1% of the gallery through, i.e. the whole shortlist).
    """
    loosest = min(m.face_thresholds.values())
    if len(probes) > 1 or not _exact_face_index(m):
        return loosest
    own = [t for n, t in m.face_thresholds.items() if fmr_of_name(n) == identify_fmr]
    return own[0] - EXACT_SCORE_SLACK if own else loosest


def _shortlist(db_session: Session, vault: Vault, m: Matchers, probe: Probe,
               face_floor: float) -> dict[int, float]:
    """Return {guard id: gallery score} for the guards ``probe``'s gallery puts near it."""
    if probe.modality == "face":
        m.face_gallery.catch_up(db_session, vault)
        hits = m.face_gallery.search(probe.template.vector, threshold=face_floor, k=SHORTLIST)
    else:
        if m.finger_gallery is None:
            return {}
        m.finger_gallery.catch_up(db_session, vault)
        hits = m.finger_gallery.search(probe.template, k=SHORTLIST)
    return {h.guard_id: h.score for h in hits}


def _candidate(db_session: Session, guard_id: int, scores: dict[str, float],
               total: float) -> Candidate:
    """Return the API view of one identified guard."""
    guard = db_session.get(Guard, guard_id)
    cert = db_session.scalar(select(Certificate).where(Certificate.guard_id == guard_id)
                             .order_by(Certificate.id.desc()).limit(1))
    org = db_session.get(Organisation, guard.employer_id) if guard.employer_id else None
    return Candidate(guard_id=guard_id, name_masked=guard.name[:1] + "*" * (len(guard.name) - 1),
                     certificate_number=cert.number if cert else None,
                     certificate_status=cert.status.value if cert else None,
                     employer=org.name if org else None, face_score=scores.get("face"),
                     finger_score=scores.get("finger"), evidence=round(total, 3))


def identify(*, db_session: Session, vault: Vault, actor: Actor, settings: Settings,
             matchers: Matchers, ctx: CheckContext, images: Images) -> CheckOut:
    """Search every enrolled guard; return candidates whose fused evidence is strong enough."""
    probes = _probes(matchers, settings, ctx, images)
    thresholds = {"face": matchers.face_thresholds, "finger": matchers.finger_thresholds}
    required = -math.log10(fmr_of_name(settings.identify_threshold))
    floor = _face_floor(matchers, probes, fmr_of_name(settings.identify_threshold))
    near = {p.modality: _shortlist(db_session, vault, matchers, p, floor) for p in probes}
    # An exact face index already holds each guard's best cosine: no need to decrypt it again.
    exact_face = _exact_face_index(matchers)
    scored = []
    for gid in set().union(*near.values()):
        scores = {}
        for p in probes:
            known = near[p.modality].get(gid) if p.modality == "face" and exact_face else None
            s = known if known is not None else score(db_session, vault, gid, p)
            if s is not None:
                scores[p.modality] = s
        total = sum(evidence(s, thresholds[k]) for k, s in scores.items())
        if total >= required:
            scored.append((total, gid, scores))
    scored.sort(key=lambda t: -t[0])
    found = [_candidate(db_session, gid, {k: round(v, 4) for k, v in scores.items()}, total)
             for total, gid, scores in scored[:settings.identify_max_candidates]]
    top = found[0] if found else None
    best = db_session.get(Guard, top.guard_id) if top else None
    scores = {} if top is None else {k: v for k, v in (("face", top.face_score),
                                                       ("finger", top.finger_score))
                                     if v is not None}
    return _record(db_session, vault, actor, CheckMode.identify, ctx, probes, images,
                   failed=[] if top else [Outcome.unknown_person], guard=best,
                   number=top.certificate_number if top else None, scores=scores,
                   fused=top.evidence if top else None,
                   applied={settings.identify_threshold: required},
                   candidates=[c.model_dump() for c in found],
                   outcome=Outcome.identified if top else Outcome.unknown_person)
