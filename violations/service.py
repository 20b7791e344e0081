"""Violations and rectifications: derived from failed spot checks, or entered by inspectors."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.imageio import decode
from registry import audit, paging, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound
from registry.models import Guard, utcnow
from violations.models import (
    Rectification,
    Violation,
    ViolationCategory,
    ViolationSource,
    ViolationStatus,
)
from violations.schemas import RectificationIn, ViolationDecisionIn, ViolationIn, ViolationOut

EVIDENCE_PURPOSE = "violation.evidence"
# Spot-check failures that make the person one "not meeting the legal conditions" (column 15).
UNQUALIFIED_OUTCOMES = frozenset({"no_certificate", "certificate_revoked",
                                  "certificate_suspended", "background_check_failed",
                                  "not_enrolled", "unknown_person"})


def derive(db_session: Session, actor: Actor, *, check_id: int, failed: list[str],
           guard: Guard | None, district: str, site: str | None) -> list[Violation]:
    """Create the violations a failed spot check implies (flushed, not committed).

    A biometric no-match is not one of them: it opens a mismatch case
    (inspection/mismatches.py), and only a supervisor's confirmation records the
    impersonation (``record_impersonation``).
    """
    out: list[Violation] = []
    common = {"source": ViolationSource.derived, "district": district, "site": site,
              "check_id": check_id, "recorded_by": actor.key_id,
              "guard_id": guard.id if guard else None,
              "organisation_id": guard.employer_id if guard else None}
    reasons = sorted(UNQUALIFIED_OUTCOMES.intersection(failed))
    if reasons:
        out.append(Violation(category=ViolationCategory.unqualified_person,
                             note="spot check: " + ", ".join(reasons), **common))
    for v in out:
        db_session.add(v)
    db_session.flush()
    return out


def record_impersonation(db_session: Session, actor: Actor, *, guard: Guard, check_id: int,
                         district: str, site: str | None, found_at: dt.datetime,
                         note: str) -> Violation:
    """Record the impersonation a supervisor confirmed (flushed, not committed)."""
    row = Violation(category=ViolationCategory.impersonation, source=ViolationSource.derived,
                    status=ViolationStatus.confirmed, district=district, site=site,
                    check_id=check_id, guard_id=guard.id, organisation_id=guard.employer_id,
                    found_at=found_at, recorded_by=actor.key_id, decided_by=actor.key_id,
                    decided_at=utcnow(), note=note)
    db_session.add(row)
    db_session.flush()
    return row


def _subject_district(db_session: Session, actor: Actor, org_id: int | None,
                      guard_id: int | None, named: str | None) -> str:
    """Return the district a record is filed in; every referenced record must be in reach.

    An organisation or guard of another district reads as absent (same error, same message).
    """
    districts = []
    if org_id is not None:
        if not policy.visible_org(db_session, actor, org_id):
            raise NotFound(f"organisation {org_id} not found")
        districts.append(policy.org_district(db_session, org_id))
    if guard_id is not None:
        if not policy.visible_guard(db_session, actor, guard_id):
            raise NotFound(f"guard {guard_id} not found")
        districts.append(policy.guard_districts(db_session, [guard_id])[guard_id])
    district = districts[0] if districts else named
    if district is None:
        raise Conflict("a record needs an organisation, a guard or a district")
    policy.require_writable(actor, district)
    return district


def check_evidence(evidence: bytes, *, max_bytes: int, max_pixels: int) -> None:
    """Refuse evidence that is not a decodable photo within the image limits (ImageError)."""
    decode(evidence, max_bytes=max_bytes, max_pixels=max_pixels, mode="gray")


def record(*, db_session: Session, vault: Vault, actor: Actor, data: ViolationIn,
           evidence: bytes | None, max_bytes: int, max_pixels: int) -> Violation:
    """Record a violation an inspector found, with an encrypted evidence photo."""
    if evidence is not None:
        check_evidence(evidence, max_bytes=max_bytes, max_pixels=max_pixels)
    district = _subject_district(db_session, actor, data.organisation_id, data.guard_id,
                                 data.district)
    row = Violation(category=data.category, source=ViolationSource.manual, district=district,
                    organisation_id=data.organisation_id, guard_id=data.guard_id,
                    persons=data.persons, site=data.site, note=data.note,
                    found_at=data.found_at or utcnow(), recorded_by=actor.key_id,
                    evidence_enc=vault.encrypt(db_session, evidence, purpose=EVIDENCE_PURPOSE)
                    if evidence else None)
    db_session.add(row)
    db_session.flush()
    audit.record(db_session, actor, "violation.record", resource_type="violation",
                 resource_id=row.id, detail={"category": row.category.value},
                 district=district)
    db_session.commit()
    return row


def decide(*, db_session: Session, actor: Actor, violation_id: int,
           data: ViolationDecisionIn) -> Violation:
    """Confirm or dismiss an open violation (e.g. a suspected impersonation case)."""
    row = get(db_session=db_session, actor=actor, violation_id=violation_id)
    if row.status != ViolationStatus.open:
        raise Conflict(f"violation {violation_id} is already {row.status.value}")
    row.status, row.decided_by, row.decided_at = data.status, actor.key_id, utcnow()
    if data.note:
        row.note = f"{row.note or ''}\n{data.note}".strip()
    audit.record(db_session, actor, "violation.decide", resource_type="violation",
                 resource_id=row.id, detail={"status": row.status.value},
                 district=row.district)
    db_session.commit()
    return row


def get(*, db_session: Session, actor: Actor, violation_id: int) -> Violation:
    """Return one violation in the caller's scope."""
    row = db_session.get(Violation, violation_id)
    if row is None or not policy.visible(actor, row.district):
        raise NotFound(f"violation {violation_id} not found")
    return row


def read(*, db_session: Session, actor: Actor, violation_id: int) -> ViolationOut:
    """Return one violation for display; the read is audited."""
    row = get(db_session=db_session, actor=actor, violation_id=violation_id)
    out = view(db_session, actor, row)
    audit.record(db_session, actor, "violation.read", resource_type="violation",
                 resource_id=row.id, district=row.district)
    db_session.commit()
    return out


def view(db_session: Session, actor: Actor, row: Violation) -> ViolationOut:
    """Return the API view; another district's guard or organisation is not named.

    (A check here of a guard from elsewhere derives a violation filed here.)
    """
    out = ViolationOut.of(row)
    if out.guard_id is not None and not policy.visible_guard(db_session, actor, out.guard_id):
        out.guard_id = None
    if out.organisation_id is not None and not policy.visible_org(db_session, actor,
                                                                   out.organisation_id):
        out.organisation_id = None
    return out


def evidence(*, db_session: Session, vault: Vault, actor: Actor, violation_id: int) -> bytes:
    """Return the decrypted evidence photo of a violation (the access is audited)."""
    row = get(db_session=db_session, actor=actor, violation_id=violation_id)
    if row.evidence_enc is None:
        raise NotFound(f"violation {violation_id} has no evidence photo")
    audit.record(db_session, actor, "violation.evidence_read", resource_type="violation",
                 resource_id=row.id, district=row.district)
    db_session.commit()
    return vault.decrypt(db_session, row.evidence_enc, purpose=EVIDENCE_PURPOSE)


def list_page(*, db_session: Session, actor: Actor, district: str | None = None,
              category: ViolationCategory | None = None, status: ViolationStatus | None = None,
              offset: int = 0, limit: int = 50) -> tuple[list[Violation], int]:
    """Return one page of violations in scope, newest first, and the total."""
    query = policy.scope_query(actor, select(Violation), Violation.district, district)
    if category:
        query = query.where(Violation.category == category)
    if status:
        query = query.where(Violation.status == status)
    return paging.page(db_session, query, Violation.id.desc(), offset=offset, limit=limit)


def rectify(*, db_session: Session, actor: Actor, data: RectificationIn) -> Rectification:
    """Record an enforcement or rectification action (columns 17-22)."""
    district = _subject_district(db_session, actor, data.organisation_id, data.guard_id,
                                 data.district)
    if data.violation_id is not None:
        get(db_session=db_session, actor=actor, violation_id=data.violation_id)
    row = Rectification(action=data.action, district=district,
                        organisation_id=data.organisation_id, guard_id=data.guard_id,
                        violation_id=data.violation_id, count=data.count, note=data.note,
                        at=data.at or utcnow(), recorded_by=actor.key_id)
    db_session.add(row)
    db_session.flush()
    audit.record(db_session, actor, "rectification.record", resource_type="rectification",
                 resource_id=row.id, detail={"action": row.action.value, "count": row.count},
                 district=district)
    db_session.commit()
    return row
