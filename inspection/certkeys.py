"""Signing keys, e-certificate issuance and the signed, incremental revocation list."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import records
from inspection import ecert
from inspection.models import SigningKey
from registry import audit, certificates
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import InvalidTransition, NotFound
from registry.models import (
    Certificate,
    CertificateEvent,
    CertificateStatus,
    Guard,
    Organisation,
    utcnow,
)
from registry.settings import Settings

KEY_PURPOSE = "ecert.signing_key"
# Status a certificate event leaves the certificate in, as published in the revocation list.
EVENT_STATUS = {"suspend": "suspended", "revoke": "revoked", "reinstate": "valid"}
# Most entries one revocation-list page carries; a verifier pages on with ``since``.
REVOCATION_PAGE = 5000


def _new_key(db_session: Session, vault: Vault) -> SigningKey:
    """Create, store (private half encrypted) and return a new signing key."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw,
                                        serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    row = SigningKey(kid=secrets.token_hex(4), public_key=public,
                     private_enc=vault.encrypt(db_session, raw_private, purpose=KEY_PURPOSE))
    db_session.add(row)
    db_session.flush()
    return row


def active_key(db_session: Session, vault: Vault) -> tuple[SigningKey, Ed25519PrivateKey]:
    """Return the current signing key and its private half, creating one on first use."""
    row = db_session.scalar(select(SigningKey).where(SigningKey.retired_at.is_(None))
                            .order_by(SigningKey.created_at.desc()).limit(1))
    if row is None:
        row = _new_key(db_session, vault)
    raw = vault.decrypt(db_session, row.private_enc, purpose=KEY_PURPOSE)
    return row, Ed25519PrivateKey.from_private_bytes(raw)


def rotate(*, db_session: Session, vault: Vault, actor: Actor) -> SigningKey:
    """Retire the active key (it stays published) and start signing with a new one."""
    now = utcnow()
    for row in db_session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = now
    row = _new_key(db_session, vault)
    audit.record(db_session, actor, "ecert.key_rotated", resource_type="signing_key",
                 resource_id=row.kid)
    db_session.commit()
    return row


def published_keys(db_session: Session, *, now: dt.datetime | None = None) -> list[dict]:
    """Return every key a verifier needs: active ones and retired ones whose tokens live on."""
    now = now or utcnow()
    out = []
    for row in db_session.scalars(select(SigningKey).order_by(SigningKey.created_at)):
        if row.retired_at is not None and (row.signed_until is None or row.signed_until < now):
            continue
        out.append({"kid": row.kid, "alg": "Ed25519", "public_key": ecert.b64e(row.public_key),
                    "created_at": row.created_at.isoformat(),
                    "retired_at": row.retired_at.isoformat() if row.retired_at else None})
    return out


def face_hash(db_session: Session, vault: Vault, guard_id: int) -> str | None:
    """Return the hash binding a token to the guard's current face enrolment (or None)."""
    bio = records.latest_face(db_session, guard_id)
    if bio is None:
        return None
    raw = records.template_bytes(db_session, vault, bio)
    return hashlib.sha256(raw).digest()[:16].hex()


def issue_token(*, db_session: Session, vault: Vault, settings: Settings, actor: Actor,
                number: str) -> tuple[str, dict]:
    """Sign and return an e-certificate token for a valid certificate, with its payload."""
    cert = certificates.get(db_session=db_session, actor=actor, number=number)
    if cert.status != CertificateStatus.valid:
        raise InvalidTransition(f"certificate {number} is {cert.status.value}: no e-certificate")
    guard = db_session.get(Guard, cert.guard_id)
    employer = db_session.get(Organisation, guard.employer_id) if guard.employer_id else None
    key, private = active_key(db_session, vault)
    now = utcnow()
    expires = now + dt.timedelta(days=settings.ecert_validity_days)
    payload = {"v": 1, "kid": key.kid, "iss": settings.ecert_issuer, "cn": cert.number,
               "nm": ecert.mask_name(guard.name), "emp": employer.name if employer else None,
               "iat": int(now.replace(tzinfo=dt.UTC).timestamp()),
               "exp": int(expires.replace(tzinfo=dt.UTC).timestamp()),
               "fh": face_hash(db_session, vault, guard.id)}
    token = ecert.sign_token(payload, private)
    key.signed_until = max(key.signed_until or expires, expires)
    audit.record(db_session, actor, "ecert.issue", resource_type="certificate",
                 resource_id=cert.number, detail={"kid": key.kid, "exp": payload["exp"]},
                 district=guard.district)
    db_session.commit()
    return token, payload


def revocation_list(*, db_session: Session, vault: Vault, settings: Settings,
                    since: int = 0) -> dict:
    """Return the signed list of status changes after event ``since`` (incremental sync)."""
    rows = db_session.execute(
        select(CertificateEvent.id, Certificate.number, CertificateEvent.event,
               CertificateEvent.at)
        .join(Certificate, Certificate.id == CertificateEvent.certificate_id)
        .where(CertificateEvent.id > since, CertificateEvent.event.in_(EVENT_STATUS))
        .order_by(CertificateEvent.id).limit(REVOCATION_PAGE)).all()
    key, private = active_key(db_session, vault)
    body = {"iss": settings.ecert_issuer, "kid": key.kid, "since": since,
            "until": rows[-1][0] if rows else since, "complete": len(rows) < REVOCATION_PAGE,
            "generated_at": utcnow().isoformat(timespec="seconds"),
            "entries": [{"seq": seq, "number": num, "status": EVENT_STATUS[event],
                         "at": at.isoformat(timespec="seconds")}
                        for seq, num, event, at in rows]}
    db_session.commit()  # a first call creates the key
    return {**body, "signature": ecert.b64e(private.sign(ecert.canonical(body)))}


def verify_online(*, db_session: Session, token: str) -> dict:
    """Verify a token's signature and expiry, then its certificate's current status.

    City-wide by policy (a guard of another district on duty here verifies here): the
    answer carries only the token's own payload and the status. A token whose signature
    does not verify is not looked up, so it cannot probe certificate numbers.
    """
    keys = {k["kid"]: ecert.b64d(k["public_key"]) for k in published_keys(db_session)}
    result = ecert.verify(token, keys)
    if result.reason in ("unknown_key", "bad_signature"):
        return {"valid": False, "reason": result.reason, "status": None, "payload": {}}
    number = str(result.payload["cn"])
    cert = db_session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        raise NotFound(f"certificate {number} not found")
    valid = result.valid and cert.status == CertificateStatus.valid
    reason = result.reason if not result.valid else ("ok" if valid else cert.status.value)
    return {"valid": valid, "reason": reason, "status": cert.status.value,
            "payload": result.payload}
