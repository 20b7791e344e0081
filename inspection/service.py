"""Spot checks at duty posts: 1:1 verification against a certificate, 1:N identification.

Every check that reaches a decision is recorded (inspector, time, place, probe quality,
scores, thresholds by name, outcome); failures derive violation records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics.gallery import FaceGallery, FingerGallery
from biometrics.probes import LocalProbes, Probe, ProbeMaker, score
from biometrics.records import enrolled_modalities
from inspection import certkeys, ecert, mismatches, records
from inspection.exceptions import NoDocument, NoProbe
from inspection.models import CheckMode, MismatchCase, Outcome, SpotCheck
from inspection.schemas import CheckContext, CheckOut
from matching.face import FaceEngine
from matching.finger import FingerprintEngine
from matching.fusion import fmr_of_name, fuse
from registry import audit, canonical, policy
from registry.audit import Actor
from registry.canonical import CERT_MAX_LEN
from registry.crypto import Vault
from registry.exceptions import InvalidCertificateNumber
from registry.models import (
    BackgroundCheck,
    Certificate,
    CertificateStatus,
    DutyStatus,
    Guard,
    LicenceStatus,
    ListStatus,
    Organisation,
    OrgType,
    utcnow,
)
from registry.settings import Settings
from violations import service as violations

PROBE_PURPOSE = "inspection.probe"
# When several checks fail, the outcome reported is the most serious; all are listed.
SEVERITY = [Outcome.certificate_invalid, Outcome.no_certificate, Outcome.no_match,
            Outcome.certificate_revoked, Outcome.certificate_suspended, Outcome.not_enrolled,
            Outcome.background_check_failed, Outcome.employer_blacklisted,
            Outcome.employer_unlicensed, Outcome.employer_unfiled, Outcome.not_on_duty_here,
            Outcome.unknown_person]


@dataclass
class Matchers:
    """The engines and calibrated thresholds a check uses (built once by the runtime)."""

    face_engine: FaceEngine
    face_thresholds: dict[str, float]
    finger_engine: FingerprintEngine | None = None
    finger_thresholds: dict[str, float] = field(default_factory=dict)
    face_gallery: FaceGallery | None = None
    finger_gallery: FingerGallery | None = None
    pool: ProbeMaker | None = None  # e.g. biometrics.compute.ComputePool (worker processes)


@dataclass
class Images:
    """The uploaded probes of one check."""

    face: bytes | None = None
    finger: bytes | None = None


def _probes(m: Matchers, settings: Settings, ctx: CheckContext, images: Images) -> list[Probe]:
    """Return the probes of the uploaded images; raise NoProbe when there are none."""
    limits = {"max_bytes": settings.max_upload_bytes, "max_pixels": settings.max_image_pixels}
    maker: ProbeMaker = (m.pool if m.pool is not None
                         else LocalProbes(m.face_engine, m.finger_engine))
    out = []
    if images.face:
        out.append(maker.face_probe(images.face, **limits))
    if images.finger:
        if m.finger_engine is None:
            raise NoProbe("fingerprint matching is not available in this deployment")
        out.append(maker.finger_probe(images.finger, position=ctx.finger_position,
                                      ppi=settings.finger_reader_ppi, **limits))
    if not out:
        raise NoProbe("send a face photo, a fingerprint, or both")
    return out


def _thresholds(m: Matchers, settings: Settings) -> dict[str, dict[str, float]]:
    """Return each modality's calibrated thresholds by name."""
    return {"face": m.face_thresholds, "finger": m.finger_thresholds}


def _decide(scores: dict[str, float], m: Matchers, settings: Settings
            ) -> tuple[bool, float | None, dict[str, float]]:
    """Return (match, fused evidence, thresholds applied) for one guard's scores."""
    names = {"face": settings.verify_face_threshold, "finger": settings.verify_finger_threshold}
    every = _thresholds(m, settings)
    applied = {names[k]: every[k][names[k]] for k in scores}
    if len(scores) == 1:
        (modality, s), = scores.items()
        return s >= every[modality][names[modality]], None, applied
    fused = fuse(scores, every, fmr_of_name(settings.verify_face_threshold))
    return fused.match, fused.evidence, applied


def _document(db_session: Session, vault: Vault, ctx: CheckContext
              ) -> tuple[str | None, list[Outcome]]:
    """Return the certificate number presented, and failures of the token itself."""
    if ctx.token:
        keys = {k["kid"]: ecert.b64d(k["public_key"])
                for k in certkeys.published_keys(db_session)}
        result = ecert.verify(ctx.token, keys)
        bad = result.reason in ("bad_signature", "unknown_key", "expired")
        try:
            number = canonical.certificate_number(str(result.payload["cn"]))
        except InvalidCertificateNumber:  # a forged token is still recorded as a failed check
            number, bad = str(result.payload["cn"])[:CERT_MAX_LEN], True
        return number, [Outcome.certificate_invalid] if bad else []
    if ctx.certificate_number:
        return canonical.certificate_number(ctx.certificate_number), []
    raise NoDocument("send a certificate number or a scanned e-certificate token")


def _status_failures(cert: Certificate, guard: Guard, org: Organisation | None,
                     site: str | None) -> list[Outcome]:
    """Return what the registry says is wrong with this guard working here."""
    failed = []
    if cert.status == CertificateStatus.revoked:
        failed.append(Outcome.certificate_revoked)
    elif cert.status == CertificateStatus.suspended:
        failed.append(Outcome.certificate_suspended)
    if guard.background_check == BackgroundCheck.failed:
        failed.append(Outcome.background_check_failed)
    if org is not None:
        if org.list_status == ListStatus.black:
            failed.append(Outcome.employer_blacklisted)
        if org.licence_status in (LicenceStatus.unlicensed, LicenceStatus.revoked) or \
                org.org_type == OrgType.unqualified:
            failed.append(Outcome.employer_unlicensed)
        if org.licence_status == LicenceStatus.unfiled:
            failed.append(Outcome.employer_unfiled)
    if guard.duty_status != DutyStatus.on_duty or (
            site and guard.post_site and site.strip() != guard.post_site):
        failed.append(Outcome.not_on_duty_here)
    return failed


def verify(*, db_session: Session, vault: Vault, actor: Actor, settings: Settings,
           matchers: Matchers, ctx: CheckContext, images: Images) -> CheckOut:
    """Check a guard on duty 1:1 against the presented certificate; record the check.

    The certificate is looked up city-wide: a guard of another district on duty here
    verifies here (the check is filed here, the answer redacted to minimal disclosure).
    """
    probes = _probes(matchers, settings, ctx, images)
    number, failed = _document(db_session, vault, ctx)
    case = mismatches.for_recapture(db_session, actor, ctx.recapture_of, number) \
        if ctx.recapture_of else None
    cert = db_session.scalar(select(Certificate).where(Certificate.number == number))
    guard = db_session.get(Guard, cert.guard_id) if cert else None
    scores: dict[str, float] = {}
    fused, applied = None, {}
    if cert is None:
        failed.append(Outcome.no_certificate)
    else:
        org = db_session.get(Organisation, guard.employer_id) if guard.employer_id else None
        failed += _status_failures(cert, guard, org, ctx.site)
        have = enrolled_modalities(db_session, guard.id)
        for p in probes:
            if p.modality in have and (s := score(db_session, vault, guard.id, p)) is not None:
                scores[p.modality] = round(s, 4)
        if not scores:
            failed.append(Outcome.not_enrolled)
        else:
            ok, fused, applied = _decide(scores, matchers, settings)
            if not ok:
                failed.append(Outcome.no_match)
    return _record(db_session, vault, actor, CheckMode.verify, ctx, probes, images,
                   failed=failed, guard=guard, number=number, scores=scores, fused=fused,
                   applied=applied, case=case)


def _record(db_session: Session, vault: Vault, actor: Actor, mode: CheckMode,
            ctx: CheckContext, probes: list[Probe], images: Images, *, failed: list[Outcome],
            guard: Guard | None, number: str | None, scores: dict[str, float],
            fused: float | None, applied: dict[str, float],
            candidates: list[dict] | None = None, outcome: Outcome | None = None,
            case: MismatchCase | None = None) -> CheckOut:
    """Store the check (probe kept, encrypted, only when it failed) and derive violations;
    a no-match opens (or a recapture advances) its mismatch case instead of a violation."""
    failed = sorted(set(failed), key=SEVERITY.index)
    outcome = outcome or (failed[0] if failed else Outcome.match)
    quality = {p.modality: p.quality for p in probes}
    # Filed where it happened: the inspector key's district (city level: the guard's).
    district = actor.district or (guard.district if guard else None)
    keep = failed and (images.face or images.finger)
    row = SpotCheck(
        mode=mode, inspector=actor.key_id, at=utcnow(), district=district, site=ctx.site,
        latitude=ctx.latitude, longitude=ctx.longitude, certificate_number=number,
        guard_id=guard.id if guard else None, outcome=outcome,
        failed_checks=json.dumps([f.value for f in failed]),
        face_quality=quality.get("face"), finger_quality=quality.get("finger"),
        face_score=scores.get("face"), finger_score=scores.get("finger"), fused_score=fused,
        thresholds=json.dumps(applied), candidates=json.dumps(candidates or []),
        probe_enc=vault.encrypt(db_session, images.face or images.finger,
                                purpose=PROBE_PURPOSE) if keep else None)
    db_session.add(row)
    db_session.flush()
    case = mismatches.record_attempt(db_session, row, case=case,
                                     no_match=Outcome.no_match in failed,
                                     matched=bool(scores) and Outcome.no_match not in failed)
    derived = violations.derive(db_session, actor, check_id=row.id,
                                failed=[f.value for f in failed], guard=guard,
                                district=district or "unknown", site=ctx.site)
    audit.record(db_session, actor, f"inspection.{mode.value}", resource_type="guard",
                 resource_id=guard.id if guard else None,
                 detail={"check": row.id, "outcome": outcome.value,
                         "violations": [v.id for v in derived],
                         "mismatch": case.id if case else None},
                 district=policy.entry_district(district, guard.district if guard else district))
    db_session.commit()
    return CheckOut(**records.redact(db_session, actor, dict(
        check_id=row.id, mode=mode, outcome=outcome, failed_checks=failed,
        guard_id=row.guard_id, certificate_number=number, face_score=row.face_score,
        finger_score=row.finger_score, fused_evidence=fused, thresholds=applied,
        candidates=candidates or [], violation_ids=[v.id for v in derived], at=row.at,
        **mismatches.check_fields(case))))
