"""The station's offline queue: captures wait here, encrypted, until the server takes them.

One file per enrolment bundle, AES-GCM encrypted with a key kept beside the queue (mode
0600, created on first use). A bundle is written atomically (temporary file, fsync, rename)
before the operator is told it is safe, and removed only after the server acknowledged its
commit; a bundle the server refuses moves to ``failed/`` with the reason (the server's
code and message, as JSON beside it), never deleted: the operator recaptures what was
refused and re-queues it (a new revision, so its requests get new idempotency keys), or
discards it on purpose.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "queue.key"
SUFFIX = ".bundle"
REASON_SUFFIX = ".reason.json"
AAD = b"guardid-station-queue-v1"


@dataclass
class Bundle:
    """One guard's captures: identity (or guard id), face photo, fingerprint images."""

    guard: dict | None = None
    guard_id: int | None = None
    face: bytes | None = None
    fingers: dict[int, bytes] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    revision: int = 0  # raised each time a refused bundle is fixed and re-queued

    @property
    def key(self) -> str:
        """Return the prefix of this revision's idempotency keys."""
        return self.id if self.revision == 0 else f"{self.id}.r{self.revision}"

    def to_json(self) -> bytes:
        """Serialise (images base64)."""
        return json.dumps({"id": self.id, "revision": self.revision,
                           "guard": self.guard, "guard_id": self.guard_id,
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
                   id=d["id"], revision=d.get("revision", 0))


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
        return self._write(self.folder / f"{bundle.id}{SUFFIX}", bundle)

    def _write(self, final: Path, bundle: Bundle) -> Path:
        """Write a bundle encrypted and atomically (temporary file, fsync, rename)."""
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, bundle.to_json(), AAD)
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

    def fail(self, path: Path, reason: dict) -> Path:
        """Set a refused bundle aside with its reason (the bundle stays encrypted)."""
        target = self.folder / "failed" / path.name
        os.replace(path, target)
        reason_file(target).write_text(json.dumps({**reason, "at": time.time()}))
        return target

    def failed(self) -> list[Path]:
        """Return the refused bundle files, oldest first."""
        return sorted((self.folder / "failed").glob(f"*{SUFFIX}"),
                      key=lambda p: p.stat().st_mtime_ns)

    def find_failed(self, prefix: str) -> Path:
        """Return the one refused bundle whose id starts with ``prefix``."""
        hits = [p for p in self.failed() if p.name.startswith(prefix)]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} failed bundle(s) match {prefix!r}")
        return hits[0]

    def reason(self, path: Path) -> dict:
        """Return why the server refused a failed bundle."""
        file = reason_file(path)
        return json.loads(file.read_text()) if file.exists() else {}

    def requeue(self, path: Path, bundle: Bundle) -> Path:
        """Put a fixed bundle back in the queue as its next revision (written before removal)."""
        bundle.revision += 1
        final = self.put(bundle)
        path.unlink(missing_ok=True)
        reason_file(path).unlink(missing_ok=True)
        return final

    def discard(self, path: Path) -> None:
        """Delete a refused bundle the operator gave up on."""
        path.unlink(missing_ok=True)
        reason_file(path).unlink(missing_ok=True)


def reason_file(bundle_file: Path) -> Path:
    """Return the file holding a failed bundle's reason."""
    return bundle_file.with_name(bundle_file.name.removesuffix(SUFFIX) + REASON_SUFFIX)
