"""The station's offline queue: captures wait here, encrypted, until the server takes them.

One file per enrolment bundle, AES-GCM encrypted with a key kept beside the queue (mode
0600, created on first use). A bundle is written atomically (temporary file, fsync, rename)
before the operator is told it is safe, and removed only after the server acknowledged its
commit; a bundle the server refuses moves to ``failed/`` with the reason, never deleted.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "queue.key"
SUFFIX = ".bundle"
AAD = b"guardid-station-queue-v1"


@dataclass
class Bundle:
    """One guard's captures: identity (or guard id), face photo, fingerprint images."""

    guard: dict | None = None
    guard_id: int | None = None
    face: bytes | None = None
    fingers: dict[int, bytes] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> bytes:
        """Serialise (images base64)."""
        return json.dumps({"id": self.id, "guard": self.guard, "guard_id": self.guard_id,
                           "face": base64.b64encode(self.face).decode() if self.face else None,
                           "fingers": {str(k): base64.b64encode(v).decode()
                                       for k, v in self.fingers.items()}}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Bundle:
        """Parse a serialised bundle."""
        d = json.loads(raw)
        return cls(guard=d["guard"], guard_id=d["guard_id"],
                   face=base64.b64decode(d["face"]) if d["face"] else None,
                   fingers={int(k): base64.b64decode(v) for k, v in d["fingers"].items()},
                   id=d["id"])


class OfflineQueue:
    """Encrypted bundles on disk, oldest first."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "failed").mkdir(exist_ok=True)
        self._aead = AESGCM(self._key())

    def _key(self) -> bytes:
        """Return the queue key, creating it (0600) on first use."""
        path = self.folder / KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(AESGCM.generate_key(bit_length=256))
        return path.read_bytes()

    def put(self, bundle: Bundle) -> Path:
        """Store a bundle durably; return its file."""
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, bundle.to_json(), AAD)
        final = self.folder / f"{bundle.id}{SUFFIX}"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def pending(self) -> list[Path]:
        """Return the queued bundle files, oldest first."""
        return sorted(self.folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns)

    def load(self, path: Path) -> Bundle:
        """Decrypt one bundle file."""
        blob = path.read_bytes()
        return Bundle.from_json(self._aead.decrypt(blob[:12], blob[12:], AAD))

    def done(self, path: Path) -> None:
        """Remove a bundle the server has committed."""
        path.unlink(missing_ok=True)

    def fail(self, path: Path, reason: str) -> Path:
        """Set a refused bundle aside with its reason (still encrypted)."""
        target = self.folder / "failed" / path.name
        os.replace(path, target)
        target.with_suffix(".reason.txt").write_text(reason)
        return target
