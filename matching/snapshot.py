"""Index snapshots as bytes: a versioned, checksummed container of named binary blobs.

Layout: magic ``GSNP``, format version (uint16), header length (uint32), a JSON header (the
kind of index, the change seq the snapshot includes, blob names and sizes, the SHA-256 of the
body), then the blobs. The caller encrypts the bytes (keyring) and writes them atomically;
:func:`unpack` raises :class:`~matching.exceptions.SnapshotError` on anything it cannot trust.

:func:`pack_parts` returns the same bytes as a list of parts that reference the blobs
(memoryviews of the index's own arrays, no copies), so a city gallery is not held twice or
three times over while it is written; :func:`pack` joins them.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from matching.exceptions import SnapshotError

MAGIC = b"GSNP"
VERSION = 1
_PREFIX = struct.Struct("<4sHI")


@dataclass(frozen=True)
class Packed:
    """Snapshot bytes as a sequence of parts (bytes-like objects), in order."""

    parts: tuple[Any, ...]

    def __len__(self) -> int:
        return sum(memoryview(p).nbytes for p in self.parts)

    def views(self) -> Iterator[memoryview]:
        """Yield each part as a flat byte view."""
        for p in self.parts:
            yield view(p)

    def tobytes(self) -> bytes:
        """Return the parts joined (one copy)."""
        return b"".join(self.views())


def pack_parts(kind: str, seq: int, meta: dict, blobs: dict[str, Any]) -> Packed:
    """Return the snapshot of ``blobs`` (bytes-like objects or :class:`Packed`, referenced,
    not copied) with ``meta``, tagged ``kind`` and ``seq``; the blobs must not change until
    the parts have been consumed."""
    names = list(blobs)
    body: list[memoryview] = []
    sizes = []
    digest = hashlib.sha256()
    for n in names:
        blob = blobs[n]
        views = list(blob.views()) if isinstance(blob, Packed) else [view(blob)]
        sizes.append(sum(v.nbytes for v in views))
        for v in views:
            digest.update(v)
        body.extend(views)
    header = json.dumps({"kind": kind, "seq": int(seq), "meta": meta, "names": names,
                         "sizes": sizes, "sha256": digest.hexdigest()}).encode()
    return Packed((_PREFIX.pack(MAGIC, VERSION, len(header)) + header, *body))


def pack(kind: str, seq: int, meta: dict, blobs: dict[str, Any]) -> bytes:
    """Return the snapshot bytes of ``blobs`` with ``meta``, tagged ``kind`` and ``seq``."""
    return pack_parts(kind, seq, meta, blobs).tobytes()


def view(array: Any) -> memoryview:
    """Return a C-contiguous array's bytes as a flat view (no copy)."""
    m = memoryview(array)
    if not m.c_contiguous:
        raise ValueError("a snapshot blob must be C-contiguous")
    return m.cast("B") if m.nbytes else memoryview(b"")


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
