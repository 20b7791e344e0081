"""The electronic guard certificate: a compact Ed25519-signed token, verifiable offline.

Token: ``GC1.<payload>.<signature>``, both parts unpadded base64url; the signature covers
``GC1.<payload>``. The payload is compact JSON:

    v    format version (1)            kid  signing key id
    cn   certificate number            nm   masked name (family name + stars)
    emp  employer name                 iss  issuer
    iat  issued at (Unix seconds)      exp  expires at (Unix seconds)
    fh   first 16 bytes (hex) of SHA-256 over the enrolled face template, so a verifier can
         tell which enrolment the token was issued against

Verification needs only published data: the public keys (``/certificates/keys``) and a
revocation list (``/certificates/revocations``). Nothing here touches a database.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from inspection.exceptions import CertificateTokenError
from registry import canonical as identifiers
from registry.exceptions import InvalidCertificateNumber

PREFIX = "GC1"
# Longest token accepted: a QR code of version 10 holds ~270 bytes in byte mode; refusing
# anything much longer keeps hostile input from costing parsing time.
MAX_TOKEN_CHARS = 1024


def b64e(data: bytes) -> str:
    """Return unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    """Decode unpadded base64url text; raise CertificateTokenError when malformed."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise CertificateTokenError("token is not valid base64url", reason="malformed") from exc


def canonical(obj: object) -> bytes:
    """Return the compact, key-sorted JSON bytes that get signed."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def mask_name(name: str) -> str:
    """Return the family name (first character) followed by one star per other character."""
    return name[:1] + "*" * max(0, len(name) - 1)


def sign_token(payload: dict, private_key: Ed25519PrivateKey) -> str:
    """Return the signed token for ``payload`` (which must carry its ``kid``)."""
    head = f"{PREFIX}.{b64e(canonical(payload))}"
    return f"{head}.{b64e(private_key.sign(head.encode()))}"


@dataclass(frozen=True)
class VerifiedToken:
    """What an offline verifier concludes about a token."""

    valid: bool
    reason: str  # ok | expired | revoked | suspended | unknown_key | bad_signature
    payload: dict


def parse(token: str) -> tuple[str, dict, bytes]:
    """Split a token into its signed head, payload and signature; raise when malformed."""
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise CertificateTokenError("token is too long", reason="malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise CertificateTokenError("not a guardid certificate token", reason="malformed")
    try:
        payload = json.loads(b64d(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CertificateTokenError("token payload is not JSON", reason="malformed") from exc
    if not isinstance(payload, dict) or not {"cn", "kid", "exp", "iat"} <= payload.keys():
        raise CertificateTokenError("token payload lacks required fields", reason="malformed")
    return f"{parts[0]}.{parts[1]}", payload, b64d(parts[2])


def verify(token: str, public_keys: dict[str, bytes], revoked: dict[str, str] | None = None,
           *, now: float | None = None) -> VerifiedToken:
    """Verify ``token`` against raw public keys by kid and a revocation map number -> status."""
    head, payload, signature = parse(token)
    raw = public_keys.get(str(payload["kid"]))
    if raw is None:
        return VerifiedToken(False, "unknown_key", payload)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, head.encode())
    except (InvalidSignature, ValueError):
        return VerifiedToken(False, "bad_signature", payload)
    status = {number_key(k): v for k, v in (revoked or {}).items()}.get(
        number_key(str(payload["cn"])))
    if status in ("revoked", "suspended"):
        return VerifiedToken(False, status, payload)
    if (now if now is not None else time.time()) >= float(payload["exp"]):
        return VerifiedToken(False, "expired", payload)
    return VerifiedToken(True, "ok", payload)


def verify_revocation_list(doc: dict, public_keys: dict[str, bytes]) -> bool:
    """True when a revocation-list document carries a valid signature by a known key."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    raw = public_keys.get(str(doc.get("kid")))
    if raw is None or not isinstance(doc.get("signature"), str):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(b64d(doc["signature"]), canonical(body))
    except (InvalidSignature, ValueError, CertificateTokenError):
        return False
    return True


def number_key(number: str) -> str:
    """Return the canonical certificate number (tokens signed before it was canonical match)."""
    try:
        return identifiers.certificate_number(number)
    except InvalidCertificateNumber:
        return number


def apply_revocations(state: dict[str, str], doc: dict) -> dict[str, str]:
    """Return ``state`` (number -> status) updated with a verified list's entries, in order."""
    out = {number_key(k): v for k, v in state.items()}
    for entry in doc.get("entries", []):
        if entry["status"] == "valid":
            out.pop(number_key(entry["number"]), None)
        else:
            out[number_key(entry["number"])] = entry["status"]
    return out
