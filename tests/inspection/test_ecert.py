"""The electronic certificate: signed tokens, offline verification, revocation-list sync,
key rotation, QR codes and the printable card."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

from inspection import ecert
from tests.helpers import auth


def published(client, keys) -> dict[str, bytes]:
    r = client.get("/certificates/keys", headers=auth(keys["inspector"]))
    assert r.status_code == 200
    return {k["kid"]: ecert.b64d(k["public_key"]) for k in r.json()["keys"]}


def issue(client, keys, number) -> str:
    r = client.post(f"/certificates/{number}/ecert", headers=auth(keys["station"]))
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_valid_token_verifies_offline_with_published_keys(client, keys, posted):
    token = issue(client, keys, posted.number)
    result = ecert.verify(token, published(client, keys))
    assert result.valid and result.reason == "ok"
    p = result.payload
    assert p["cn"] == posted.number and p["nm"] == "王*****" and p["emp"]
    assert len(p["fh"]) == 32 and p["exp"] - p["iat"] == 365 * 86400
    assert len(token) < 400  # fits a QR code a phone reads at arm's length


def test_tampered_expired_and_unknown_key_are_refused(client, keys, posted):
    token = issue(client, keys, posted.number)
    pub = published(client, keys)
    head, payload, sig = token.split(".")
    body = json.loads(ecert.b64d(payload))
    forged = ".".join([head, ecert.b64e(ecert.canonical({**body, "cn": "TJ-FAKE-1"})), sig])
    assert ecert.verify(forged, pub).reason == "bad_signature"
    assert ecert.verify(token, pub, now=body["exp"] + 1).reason == "expired"
    assert ecert.verify(token, {}).reason == "unknown_key"
    with pytest.raises(ecert.CertificateTokenError):
        ecert.verify("GC1.e30.AAAA", pub)  # '{}' lacks every field
    with pytest.raises(ecert.CertificateTokenError):
        ecert.verify("X" * 5000, pub)


def test_revocation_list_sync_is_signed_and_incremental(client, keys, posted):
    token = issue(client, keys, posted.number)
    pub = published(client, keys)
    first = client.get("/certificates/revocations", headers=auth(keys["inspector"])).json()
    assert ecert.verify_revocation_list(first, pub) and first["entries"] == []
    state = ecert.apply_revocations({}, first)
    for action in ("suspend", "reinstate", "revoke"):
        r = client.post(f"/certificates/{posted.number}/{action}",
                        headers=auth(keys["police"]), json={"reason": "test"})
        assert r.status_code == 200, r.text
    nxt = client.get("/certificates/revocations", headers=auth(keys["inspector"]),
                     params={"since": first["until"]}).json()
    assert ecert.verify_revocation_list(nxt, pub)
    assert [e["status"] for e in nxt["entries"]] == ["suspended", "valid", "revoked"]
    state = ecert.apply_revocations(state, nxt)
    assert ecert.verify(token, pub, state).reason == "revoked"
    tampered = {**nxt, "entries": nxt["entries"][:1]}
    assert not ecert.verify_revocation_list(tampered, pub)
    empty = client.get("/certificates/revocations", headers=auth(keys["inspector"]),
                       params={"since": nxt["until"]}).json()
    assert empty["entries"] == [] and empty["until"] == nxt["until"]
    online = client.post("/certificates/verify-token", headers=auth(keys["inspector"]),
                         json={"token": token}).json()
    assert online == {**online, "valid": False, "reason": "revoked"}
    refused = client.post(f"/certificates/{posted.number}/ecert", headers=auth(keys["station"]))
    assert refused.status_code == 409


def test_key_rotation_keeps_old_tokens_verifiable(client, keys, posted):
    old = issue(client, keys, posted.number)
    r = client.post("/certificates/keys/rotate", headers=auth(keys["admin"]))
    assert r.status_code == 200
    new = issue(client, keys, posted.number)
    pub = published(client, keys)
    assert len(pub) == 2
    assert ecert.parse(old)[1]["kid"] != ecert.parse(new)[1]["kid"] == r.json()["kid"]
    assert ecert.verify(old, pub).valid and ecert.verify(new, pub).valid
    listing = client.get("/certificates/revocations", headers=auth(keys["inspector"])).json()
    assert listing["kid"] == r.json()["kid"] and ecert.verify_revocation_list(listing, pub)


def read_qr(img: np.ndarray) -> str:
    """Decode a QR code as a phone would: OpenCV's two detectors at a few sizes (its classic
    detector alone misses ~4% of these codes; with the ArUco-based one none of 200 failed)."""
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for scale in (1, 2, 3):
            big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
            text, _, _ = detector.detectAndDecode(big)
            if text:
                return text
    raise AssertionError("the QR code could not be read")


def test_qr_png_and_svg_carry_a_valid_token(client, keys, posted):
    r = client.get(f"/certificates/{posted.number}/qr", headers=auth(keys["station"]))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert ecert.verify(read_qr(img), published(client, keys)).valid
    svg = client.get(f"/certificates/{posted.number}/qr", headers=auth(keys["station"]),
                     params={"format": "svg"})
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    card = client.get(f"/certificates/{posted.number}/card", headers=auth(keys["station"]))
    assert posted.number in card.text and "<svg" in card.text and "王*****" in card.text
    assert client.get(f"/certificates/{posted.number}/qr",
                      headers=auth(keys["inspector"])).status_code == 403


def test_token_presented_at_a_spot_check(client, keys, posted, face_jpeg):
    token = issue(client, keys, posted.number)
    files = {"face": ("p.jpg", face_jpeg, "image/jpeg")}
    ok = client.post("/inspections/verify", headers=auth(keys["inspector"]),
                     data={"token": token}, files=files).json()
    assert ok["outcome"] == "match" and ok["certificate_number"] == posted.number
    head, payload, sig = token.split(".")
    body = json.loads(ecert.b64d(payload))
    forged = ".".join([head, ecert.b64e(ecert.canonical({**body, "exp": int(time.time())
                                                          + 10**8})), sig])
    bad = client.post("/inspections/verify", headers=auth(keys["inspector"]),
                      data={"token": forged}, files=files).json()
    assert bad["outcome"] == "certificate_invalid"
