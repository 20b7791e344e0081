"""Envelope encryption at rest: master keys (KEKs) in a keyring file wrap data keys in the DB.

Layout of an encrypted blob: ``b"GE" | version (1 byte) | data-key id (uint32 BE) |
nonce (12 bytes) | AES-256-GCM ciphertext+tag``. The caller's ``purpose`` is bound as
associated data, so a blob copied into another column does not decrypt. Rotating the
master key re-wraps the (few) data keys; blobs are untouched, so no downtime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.exceptions import ConfigurationError, CryptoError
from registry.models import DataKey

MAGIC = b"GE"
VERSION = 1
_HEADER = struct.Struct(">2sBI")
NONCE_BYTES = 12
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _optional_b64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


@dataclass
class Keyring:
    """Master keys by id, the active one, the stable key for searchable hashes, and the audit
    keys: the HMAC key of the audit chain and the Ed25519 seed that signs its checkpoints.

    The audit keys are not master keys: rotating the master key leaves them as they are, so
    the chain and its checkpoints verify across rotations.
    """

    active: str
    keys: dict[str, bytes]
    index_key: bytes
    path: Path | None = None
    audit_key: bytes | None = None
    checkpoint_seed: bytes | None = None

    @classmethod
    def generate(cls, path: Path | None = None) -> Keyring:
        """Return a new keyring with one random master key and fresh audit keys."""
        ring = cls(active="k1", keys={"k1": AESGCM.generate_key(256)},
                   index_key=secrets.token_bytes(KEY_BYTES), path=path)
        ring.ensure_audit_keys()
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read a keyring file; raise ConfigurationError when it is missing or malformed."""
        try:
            raw = json.loads(Path(path).read_text())
            keys = {k: base64.b64decode(v) for k, v in raw["keys"].items()}
            ring = cls(active=raw["active"], keys=keys,
                       index_key=base64.b64decode(raw["index_key"]), path=Path(path),
                       audit_key=_optional_b64(raw.get("audit_key")),
                       checkpoint_seed=_optional_b64(raw.get("checkpoint_seed")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read keyring {path}: {exc}") from exc
        audit = [k for k in (ring.audit_key, ring.checkpoint_seed) if k is not None]
        if ring.active not in ring.keys or any(
                len(k) != KEY_BYTES for k in [*keys.values(), *audit]):
            raise ConfigurationError(f"keyring {path} is inconsistent")
        return ring

    @classmethod
    def open(cls, path: Path, *, create: bool) -> Keyring:
        """Load the keyring at ``path``; create it (mode 0600) when absent and ``create``."""
        if Path(path).exists():
            ring = cls.load(path)
            if create and ring.ensure_audit_keys():  # a development keyring from before them
                ring.save()
            return ring
        if not create:
            raise ConfigurationError(
                f"no keyring at {path}: set GUARDID_KEYRING_FILE to the master-key file "
                "(production never generates one)"
            )
        ring = cls.generate(Path(path))
        ring.save()
        return ring

    def save(self) -> None:
        """Write the keyring atomically with owner-only permissions."""
        if self.path is None:
            raise ConfigurationError("keyring has no path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = {"version": 1, "active": self.active, "index_key": _b64(self.index_key),
               "keys": {k: _b64(v) for k, v in self.keys.items()}}
        if self.audit_key is not None and self.checkpoint_seed is not None:
            raw |= {"audit_key": _b64(self.audit_key),
                    "checkpoint_seed": _b64(self.checkpoint_seed)}
        body = json.dumps(raw, indent=1)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def add_master_key(self) -> str:
        """Add a new master key, make it active and return its id."""
        n = 1 + max(int(k[1:]) for k in self.keys if k[1:].isdigit())
        kid = f"k{n}"
        self.keys[kid] = AESGCM.generate_key(256)
        self.active = kid
        return kid

    def ensure_audit_keys(self) -> bool:
        """Generate the audit chain key and checkpoint seed if absent; True when it did."""
        if self.audit_key is not None and self.checkpoint_seed is not None:
            return False
        self.audit_key = self.audit_key or secrets.token_bytes(KEY_BYTES)
        self.checkpoint_seed = self.checkpoint_seed or secrets.token_bytes(KEY_BYTES)
        return True

    def chain_key(self) -> bytes:
        """Return the audit chain's HMAC key; raise ConfigurationError when it is missing."""
        if self.audit_key is None:
            raise ConfigurationError(
                f"keyring {self.path} has no audit chain key: run `guardid migrate`")
        return self.audit_key

    def checkpoint_signer(self) -> Ed25519PrivateKey:
        """Return the Ed25519 key that signs audit checkpoints."""
        if self.checkpoint_seed is None:
            raise ConfigurationError(
                f"keyring {self.path} has no checkpoint key: run `guardid migrate`")
        return Ed25519PrivateKey.from_private_bytes(self.checkpoint_seed)

    def checkpoint_public_key(self) -> Ed25519PublicKey:
        """Return the public key a witness uses to verify audit checkpoints."""
        return self.checkpoint_signer().public_key()

    def checkpoint_public_pem(self) -> str:
        """Return the checkpoint public key as PEM (SubjectPublicKeyInfo), for export."""
        return self.checkpoint_public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def keyed_hash(self, value: str, *, purpose: str) -> str:
        """Return a hex HMAC-SHA256 of ``value`` for equality search without plaintext."""
        return hmac.new(self.index_key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class Vault:
    """Encrypts and decrypts blobs with data keys wrapped by the keyring's master keys."""

    keyring: Keyring
    _deks: dict[int, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def encrypt(self, session: Session, plaintext: bytes, *, purpose: str) -> bytes:
        """Return ``plaintext`` encrypted with the active data key, bound to ``purpose``."""
        dek_id, dek = self._active_dek(session)
        nonce = os.urandom(NONCE_BYTES)
        body = AESGCM(dek).encrypt(nonce, plaintext, purpose.encode())
        return _HEADER.pack(MAGIC, VERSION, dek_id) + nonce + body

    def decrypt(self, session: Session, blob: bytes, *, purpose: str) -> bytes:
        """Return the plaintext of ``blob``; raise CryptoError when it was altered."""
        if len(blob) < _HEADER.size + NONCE_BYTES + 16:
            raise CryptoError("ciphertext is truncated")
        magic, version, dek_id = _HEADER.unpack_from(blob)
        if magic != MAGIC or version != VERSION:
            raise CryptoError("not a guardid ciphertext")
        nonce = blob[_HEADER.size:_HEADER.size + NONCE_BYTES]
        try:
            return AESGCM(self._dek(session, dek_id)).decrypt(
                nonce, blob[_HEADER.size + NONCE_BYTES:], purpose.encode())
        except InvalidTag as exc:
            raise CryptoError("ciphertext failed authentication") from exc

    def _active_dek(self, session: Session) -> tuple[int, bytes]:
        row = session.scalars(
            select(DataKey).where(DataKey.active.is_(True)).order_by(DataKey.id.desc()).limit(1)
        ).first()
        if row is None:
            row = self.new_data_key(session)
        return row.id, self._dek(session, row.id, row)

    def new_data_key(self, session: Session) -> DataKey:
        """Create a data key wrapped by the active master key and make it the active one."""
        session.execute(update(DataKey).values(active=False))
        dek = AESGCM.generate_key(256)
        row = DataKey(kek_id=self.keyring.active, wrapped=self._wrap(dek), active=True)
        session.add(row)
        session.flush()
        with self._lock:
            self._deks[row.id] = dek
        return row

    def _dek(self, session: Session, dek_id: int, row: DataKey | None = None) -> bytes:
        with self._lock:
            if dek_id in self._deks:
                return self._deks[dek_id]
        row = row or session.get(DataKey, dek_id)
        if row is None:
            raise CryptoError(f"unknown data key {dek_id}")
        dek = self._unwrap(row.kek_id, row.wrapped)
        with self._lock:
            self._deks[dek_id] = dek
        return dek

    def _wrap(self, dek: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        kek = self.keyring.keys[self.keyring.active]
        return nonce + AESGCM(kek).encrypt(nonce, dek, b"guardid-dek")

    def _unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        kek = self.keyring.keys.get(kek_id)
        if kek is None and self.keyring.path is not None:
            self.keyring = Keyring.load(self.keyring.path)  # rotated by another process
            kek = self.keyring.keys.get(kek_id)
        if kek is None:
            raise CryptoError(f"master key {kek_id} is not in the keyring")
        try:
            return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"guardid-dek")
        except InvalidTag as exc:
            raise CryptoError(f"data key cannot be unwrapped with master key {kek_id}") from exc

    def rewrap_all(self, session: Session) -> int:
        """Re-wrap every data key under the active master key; return how many changed."""
        changed = 0
        for row in session.scalars(select(DataKey)).all():
            if row.kek_id == self.keyring.active:
                continue
            dek = self._unwrap(row.kek_id, row.wrapped)
            row.kek_id, row.wrapped = self.keyring.active, self._wrap(dek)
            changed += 1
        session.flush()
        return changed
