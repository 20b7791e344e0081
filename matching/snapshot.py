"""Index snapshots as bytes: a versioned, checksummed container of named binary blobs.

Layout: magic ``GSNP``, format version (uint16), header length (uint32), a JSON header (the
kind of index, the change seq the snapshot includes, blob names and sizes, the SHA-256 of the
body), then the blobs. The caller encrypts the bytes (keyring) and writes them atomically;
:func:`unpack` raises :class:`~matching.exceptions.SnapshotError` on anything it cannot trust.
"""

from __future__ import annotations

import hashlib
import json
import struct

from matching.exceptions import SnapshotError

MAGIC = b"GSNP"
VERSION = 1
_PREFIX = struct.Struct("<4sHI")


def pack(kind: str, seq: int, meta: dict, blobs: dict[str, bytes]) -> bytes:
    """Return the snapshot bytes of ``blobs`` with ``meta``, tagged ``kind`` and ``seq``."""
    names = list(blobs)
    body = b"".join(blobs[n] for n in names)
    header = json.dumps({"kind": kind, "seq": int(seq), "meta": meta, "names": names,
                         "sizes": [len(blobs[n]) for n in names],
                         "sha256": hashlib.sha256(body).hexdigest()}).encode()
    return _PREFIX.pack(MAGIC, VERSION, len(header)) + header + body


def unpack(data: bytes, kind: str) -> tuple[int, dict, dict[str, memoryview]]:
    """Return (seq, meta, blobs) of a snapshot of ``kind``; raise SnapshotError otherwise."""
    view = memoryview(data)
    try:
        magic, version, hlen = _PREFIX.unpack_from(view)
        header = json.loads(bytes(view[_PREFIX.size:_PREFIX.size + hlen]))
        names, sizes = header["names"], header["sizes"]
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise SnapshotError("index snapshot is unreadable") from exc
    if magic != MAGIC or version != VERSION:
        raise SnapshotError(f"not a guardid index snapshot of format version {VERSION}")
    if header.get("kind") != kind:
        raise SnapshotError(f"index snapshot holds a {header.get('kind')!r} index, not {kind!r}")
    body = view[_PREFIX.size + hlen:]
    if len(body) != sum(sizes) or hashlib.sha256(body).hexdigest() != header["sha256"]:
        raise SnapshotError("index snapshot is corrupt or truncated")
    blobs, at = {}, 0
    for name, size in zip(names, sizes, strict=True):
        blobs[name] = body[at:at + size]
        at += size
    return int(header["seq"]), header["meta"], blobs
