"""1:N identification at a duty post: who is this, with no document?"""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import CheckMode, Outcome
from inspection.probes import Probe, score
from inspection.schemas import Candidate, CheckContext, CheckOut
from inspection.service import Images, Matchers, _probes, _record
from matching.fusion import evidence, fmr_of_name
from registry.audit import Actor
from registry.crypto import Vault
from registry.models import Certificate, Guard, Organisation
from registry.settings import Settings

# How many gallery neighbours each modality contributes before fusion re-scores them.
SHORTLIST = 50


def _shortlist(db_session: Session, vault: Vault, m: Matchers, probe: Probe) -> set[int]:
    """Return guard ids the gallery of ``probe``'s modality puts near it."""
    if probe.modality == "face":
        m.face_gallery.catch_up(db_session, vault)
        loosest = min(m.face_thresholds.values())
        hits = m.face_gallery.search(probe.template.vector, threshold=loosest, k=SHORTLIST)
    else:
        if m.finger_gallery is None:
            return set()
        m.finger_gallery.catch_up(db_session, vault)
        hits = m.finger_gallery.search(probe.template, k=SHORTLIST)
    return {h.guard_id for h in hits}


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
    guards: set[int] = set()
    for p in probes:
        guards |= _shortlist(db_session, vault, matchers, p)
    found = []
    for gid in guards:
        scores = {p.modality: s for p in probes
                  if (s := score(db_session, vault, gid, p)) is not None}
        total = sum(evidence(s, thresholds[k]) for k, s in scores.items())
        if total >= required:
            found.append(_candidate(db_session, gid, {k: round(v, 4) for k, v in scores.items()},
                                    total))
    found.sort(key=lambda c: -c.evidence)
    found = found[:settings.identify_max_candidates]
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
