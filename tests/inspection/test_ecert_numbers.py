"""Offline e-certificate checks match certificate numbers in their canonical form."""

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from inspection import ecert


def _token(cn: str) -> tuple[str, dict[str, bytes]]:
    """A token signed for ``cn`` (as a certificate stored before canonicalisation had it)."""
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    payload = {"v": 1, "kid": "k1", "iss": "guardid", "cn": cn, "nm": "王*", "emp": None,
               "iat": int(time.time()), "exp": int(time.time()) + 3600, "fh": None}
    return ecert.sign_token(payload, private), {"k1": raw}


def test_an_old_lower_case_token_is_caught_by_the_canonical_revocation():
    token, keys = _token("ab-0001")
    assert ecert.verify(token, keys, {"AB-0001": "revoked"}).reason == "revoked"
    state = ecert.apply_revocations({"ab-0001": "suspended"},
                                    {"entries": [{"number": "AB-0001", "status": "valid"}]})
    assert state == {}  # reinstated under its canonical number: the old entry is gone too
    assert ecert.verify(token, keys, state).reason == "ok"
