"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint is what Certificate Transparency calls a signed tree head: the position and hash
of the newest sealed entry and when they were read, signed with Ed25519 by the checkpoint key
in the keyring. The server writes them to files under ``var/audit/checkpoints`` (mode 0600)
and `guardid audit checkpoint` prints one for an external witness. Whoever can write the
database but holds neither the keyring nor the files cannot delete the entries a checkpoint
covers, nor rewrite them, without `guardid audit verify` saying so.

The signed message is the UTF-8 of ``json.dumps(fields, sort_keys=True,
separators=(",", ":"))`` over the fields ``format, seq, hash, at, key_id``; a witness checks
it with the exported public key (`guardid audit public-key`), e.g. with OpenSSL:
``openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg -sigfile sig``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.crypto import Keyring

FORMAT = "guardid-audit-checkpoint/1"
# Checkpoint files kept on disk (the newest by chain position): a day at one a minute. The
# newest alone covers the whole chain; older ones survive the loss of the newest file.
CHECKPOINTS_KEPT = 1440
_SIGNED_FIELDS = ("format", "seq", "hash", "at", "key_id")


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the short id of a checkpoint public key (first 16 hex of its SHA-256)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed head of the audit chain: position, hash, time (UTC ISO) and signing key id."""

    seq: int
    hash: str
    at: str
    key_id: str
    signature: str = ""
    format: str = FORMAT

    def message(self) -> bytes:
        """Return the exact bytes the signature covers."""
        fields = {name: getattr(self, name) for name in _SIGNED_FIELDS}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        """Return the checkpoint as one JSON object (what files hold and witnesses keep)."""
        return json.dumps(asdict(self), sort_keys=True)

    def signature_ok(self, public_key: Ed25519PublicKey) -> bool:
        """True when ``public_key`` signed exactly this checkpoint."""
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), self.message())
        except (InvalidSignature, ValueError):
            return False
        return self.format == FORMAT


def parse(raw: str) -> Checkpoint:
    """Return the checkpoint in ``raw`` JSON; raise ValueError when it is malformed."""
    try:
        data: dict[str, Any] = json.loads(raw)
        cp = Checkpoint(seq=data["seq"], hash=data["hash"], at=data["at"],
                        key_id=data["key_id"], signature=data["signature"],
                        format=data["format"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"not a checkpoint: {exc}") from exc
    if not (isinstance(cp.seq, int) and cp.seq >= 0 and isinstance(cp.hash, str)
            and all(isinstance(v, str) for v in (cp.at, cp.key_id, cp.signature))):
        raise ValueError("not a checkpoint: wrong field types")
    return cp


def sign(keyring: Keyring, seq: int, digest: str, at: dt.datetime | None = None) -> Checkpoint:
    """Return a checkpoint of the head (``seq``, ``digest``) signed with the keyring's key."""
    signer = keyring.checkpoint_signer()
    when = (at or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    unsigned = Checkpoint(seq=seq, hash=digest, at=when, key_id=key_id(signer.public_key()))
    signature = base64.b64encode(signer.sign(unsigned.message())).decode()
    return Checkpoint(seq=seq, hash=digest, at=when, key_id=unsigned.key_id, signature=signature)


def write_private(path: Path, body: str) -> None:
    """Write ``body`` to ``path`` atomically, owner-only (0600), in a 0700 directory."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class CheckpointStore:
    """The checkpoint files of one host: ``<seq>.json``, the newest CHECKPOINTS_KEPT kept."""

    directory: Path

    def write(self, cp: Checkpoint) -> Path:
        """Store ``cp`` (replacing an older checkpoint of the same head) and prune."""
        path = self.directory / f"{cp.seq:012d}.json"
        write_private(path, cp.to_json() + "\n")
        for old in self._files()[:-CHECKPOINTS_KEPT]:
            old.unlink(missing_ok=True)
        return path

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("[0-9]*.json")) if self.directory.is_dir() else []

    def load(self) -> list[tuple[str, Checkpoint | str]]:
        """Return (file name, checkpoint or why it cannot be read) for every stored file."""
        out: list[tuple[str, Checkpoint | str]] = []
        for path in self._files():
            try:
                out.append((path.name, parse(path.read_text())))
            except (OSError, ValueError) as exc:
                out.append((path.name, str(exc)))
        return out

    def latest(self) -> Checkpoint | None:
        """Return the stored checkpoint of the furthest head, or None."""
        good = [cp for _, cp in self.load() if isinstance(cp, Checkpoint)]
        return max(good, key=lambda cp: cp.seq, default=None)


def anchors(found: list[tuple[str, Checkpoint | str]], public_key: Ed25519PublicKey
            ) -> tuple[list[tuple[int, str, str]], list[tuple[int | None, str, str]]]:
    """Split checkpoints into chain anchors (seq, hash, source) whose signature holds, and
    problems (seq, kind, message) for unreadable, foreign or forged ones."""
    good, bad = [], []
    for source, cp in found:
        if not isinstance(cp, Checkpoint):
            bad.append((None, "bad_checkpoint", f"checkpoint {source} is unreadable: {cp}"))
        elif not cp.signature_ok(public_key):
            bad.append((cp.seq, "bad_checkpoint", f"checkpoint {source} is not signed by this "
                        "registry's checkpoint key (forged, altered or foreign)"))
        else:
            good.append((cp.seq, cp.hash, f"checkpoint {source} ({cp.at})"))
    return good, bad
