"""Gallery snapshots: each gallery's index, sidecars, owners and feed cursor in one encrypted
file, so a start loads it and replays only the changes after it instead of the whole feed.

A file is ``MAGIC``, a JSON header (a random file id, the modality, the chunk count and each
chunk's size) and the chunks: the plaintext (``matching.snapshot.pack``, checksummed) cut into
``CHUNK_BYTES`` pieces, each AES-GCM encrypted under the database's active data key through
the vault, with a purpose that names the file id, the chunk's place and the chunk count, so a
chunk moved, dropped, swapped in from another file or another database fails authentication.
Files are written atomically (temp file, fsync, rename, fsync of the directory): a crash
mid-write leaves the previous snapshot whole.

A snapshot is refused (``SnapshotRefused``, with the reason) when it is missing, unreadable,
truncated, altered, encrypted under another keyring or database, made with other matching
settings, or when the feed no longer holds the change it was tagged with (another database,
or one restored from an older backup); the caller then rebuilds from the database.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.purposes import GALLERY_SNAPSHOT_PURPOSE
from matching import snapshot
from matching.exceptions import SnapshotError
from registry.crypto import Vault
from registry.exceptions import CryptoError
from registry.models import DataKey

if TYPE_CHECKING:
    from biometrics.gallery import Gallery

log = logging.getLogger("guardid.snapshots")

MAGIC = b"GIDGALSN"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sHI")
# Plaintext bytes per encrypted chunk: big enough that the per-chunk overhead (28 bytes, one
# AES-GCM call) is nothing, small enough that no chunk needs a second copy of a big buffer.
CHUNK_BYTES = 64 * 1024 * 1024
# Longest header a reader accepts (a file id, a modality and a size per chunk).
MAX_HEADER_BYTES = 1 << 20
SNAPSHOT_SUFFIX = ".gsnap"
# A temp file untouched for this long was left by a killed writer and is deleted (s).
ABANDONED_AFTER_S = 3600


class SnapshotRefused(SnapshotError):
    """A gallery snapshot cannot be trusted or used; the gallery is rebuilt from the database."""

    code = "snapshot_refused"


@dataclass(frozen=True)
class Loaded:
    """A gallery's state read from a snapshot."""

    index: Any
    owner: dict[int, int]
    cursor: feed.Cursor
    seq: int


def path_for(directory: Path, modality: str) -> Path:
    """Return the snapshot file of a modality's gallery in ``directory``."""
    return directory / f"{modality}{SNAPSHOT_SUFFIX}"


def _purpose(file_id: str, modality: str, index: int, count: int) -> str:
    """Return the encryption purpose that binds a chunk to its file, place and count."""
    return f"{GALLERY_SNAPSHOT_PURPOSE}/{file_id}/{modality}/{index}/{count}"


def write(directory: Path, gallery: Gallery, *, session: Session, vault: Vault,
          chunk_bytes: int = CHUNK_BYTES, deadline: float | None = None) -> Path | None:
    """Write ``gallery``'s snapshot atomically; return its path (None when ``deadline``, a
    ``time.monotonic()`` instant, passed first: the previous snapshot stays)."""
    if session.scalar(select(DataKey.id).where(DataKey.active.is_(True)).limit(1)) is None:
        # Nothing is encrypted yet (so the gallery is empty), and a writer must never make the
        # database's first data key: it would be wrapped by whichever keyring this is.
        return None
    index_parts, owners, cursor = gallery.snapshot_state()
    modality = gallery.modality.value
    meta = {"modality": modality, "settings": gallery.settings_signature(),
            "identity": feed.identity(session, cursor.seq),
            "cursor": {"seq": cursor.seq, "horizon": cursor.horizon,
                       "applied": sorted(cursor.applied)}}
    plain = snapshot.pack_parts(f"gallery-{modality}", cursor.seq, meta,
                                {"index": index_parts, **owners})
    del index_parts
    return _write_file(path_for(directory, modality), modality, plain, session=session,
                       vault=vault, chunk_bytes=chunk_bytes, deadline=deadline)


def _chunks(plain: snapshot.Packed, chunk_bytes: int) -> Iterator[bytes]:
    """Yield the plaintext's parts cut into ``chunk_bytes`` pieces (the last may be shorter;
    an empty plaintext is one empty chunk), copying one chunk at a time."""
    buf = bytearray()
    for part in plain.views():
        at = 0
        while at < part.nbytes:
            take = min(chunk_bytes - len(buf), part.nbytes - at)
            buf += part[at:at + take]
            at += take
            if len(buf) == chunk_bytes:
                yield bytes(buf)
                buf.clear()
    if buf or not len(plain):
        yield bytes(buf)


def _write_file(path: Path, modality: str, plain: snapshot.Packed, *, session: Session,
                vault: Vault, chunk_bytes: int, deadline: float | None) -> Path | None:
    """Encrypt ``plain`` chunk by chunk into a temp file, then rename it over ``path``; the
    plaintext is never joined (one chunk at a time is copied)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(path)
    file_id = uuid.uuid4().hex
    count = max(1, -(-len(plain) // chunk_bytes))
    tmp = path.with_name(f".{path.name}.{file_id}.tmp")
    try:
        with open(tmp, "wb") as out:
            sizes: list[int] = []
            chunks_at = out.seek(_PREFIX.size + _header_room(count))
            for i, chunk in enumerate(_chunks(plain, chunk_bytes)):
                if deadline is not None and time.monotonic() > deadline:
                    log.warning("gallery snapshot given up: past its deadline",
                                extra={"modality": modality})
                    return None
                blob = vault.encrypt(session, chunk,
                                     purpose=_purpose(file_id, modality, i, count))
                out.write(blob)
                sizes.append(len(blob))
            if len(sizes) != count:
                raise SnapshotError("gallery snapshot chunks do not match their count")
            header = json.dumps({"file_id": file_id, "modality": modality, "chunks": count,
                                 "sizes": sizes}).encode()
            if len(header) > chunks_at - _PREFIX.size:
                raise SnapshotError("gallery snapshot header outgrew its room")
            header = header.ljust(chunks_at - _PREFIX.size)
            out.seek(0)
            out.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        tmp = None
        return path
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _remove_abandoned(path: Path) -> None:
    """Delete temp files a killed writer left beside ``path`` (old enough that no live
    writer, another replica's included, can still be writing them)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > ABANDONED_AFTER_S:
                tmp.unlink()
        except FileNotFoundError:
            pass


def _header_room(count: int) -> int:
    """Return the bytes reserved for a header of ``count`` chunks (padded with spaces)."""
    return 256 + 24 * count


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(directory: Path, gallery: Gallery, *, session: Session, vault: Vault) -> Loaded:
    """Return the state in ``gallery``'s snapshot; raise SnapshotRefused with the reason it
    cannot be used (missing, corrupt, truncated, foreign, stale, other settings)."""
    modality = gallery.modality.value
    plain = _read_file(path_for(directory, modality), modality, session=session, vault=vault)
    try:
        seq, meta, blobs = snapshot.unpack(plain, f"gallery-{modality}")
    except SnapshotError as exc:
        raise SnapshotRefused(f"corrupt: {exc.message}") from exc
    if meta.get("settings") != gallery.settings_signature():
        raise SnapshotRefused("made with other matching settings")
    if meta.get("identity") != feed.identity(session, seq):
        raise SnapshotRefused(f"stale or foreign: the change feed does not hold change {seq} "
                              "as the snapshot saw it")
    try:
        index, index_seq = gallery.index_from_bytes(blobs["index"])  # a view: no copy
        ids = np.frombuffer(blobs["owner_ids"], np.int64)
        guards = np.frombuffer(blobs["owner_guards"], np.int64)
        c = meta["cursor"]
        cursor = feed.Cursor(seq=int(c["seq"]), horizon=c["horizon"],
                             applied=frozenset(int(a) for a in c["applied"]))
    except SnapshotError as exc:
        raise SnapshotRefused(f"corrupt index: {exc.message}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotRefused("corrupt: its parts do not agree") from exc
    if index_seq != seq or len(ids) != len(guards) or len(index) != len(ids):
        raise SnapshotRefused("corrupt: its index and owners do not agree")
    return Loaded(index=index, owner=dict(zip(ids.tolist(), guards.tolist(), strict=True)),
                  cursor=cursor, seq=seq)


def _read_file(path: Path, modality: str, *, session: Session, vault: Vault) -> bytes:
    """Return the decrypted plaintext of a snapshot file, read chunk by chunk (so the file is
    never in memory twice); raise SnapshotRefused otherwise."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the chunks
    except FileNotFoundError as exc:
        raise SnapshotRefused("missing") from exc
    with f:
        total = os.fstat(f.fileno()).st_size
        file_id, count, sizes, at = _header(f.read(_PREFIX.size), f, modality)
        if at + sum(sizes) != total:
            raise SnapshotRefused("truncated (or has bytes beyond its chunks)")
        parts = []
        try:
            for i, size in enumerate(sizes):
                parts.append(vault.decrypt(session, f.read(size),
                                           purpose=_purpose(file_id, modality, i, count)))
        except CryptoError as exc:
            raise SnapshotRefused("cannot be decrypted here: altered, or made under another "
                                  "keyring or database") from exc
    return b"".join(parts)


def _header(prefix: bytes, f: Any, modality: str) -> tuple[str, int, list[int], int]:
    """Return (file id, chunk count, chunk sizes, offset of the first chunk) of a file."""
    try:
        magic, version, hlen = _PREFIX.unpack(prefix)
        if magic != MAGIC or version != FORMAT_VERSION or hlen > MAX_HEADER_BYTES:
            raise SnapshotRefused(f"not a gallery snapshot of format {FORMAT_VERSION}")
        header = json.loads(f.read(hlen))
        file_id, count, sizes = header["file_id"], int(header["chunks"]), header["sizes"]
        if header["modality"] != modality or len(sizes) != count:
            raise SnapshotRefused("corrupt: its header does not agree")
        sizes = [int(n) for n in sizes]
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise SnapshotRefused("corrupt: unreadable header") from exc
    return str(file_id), count, sizes, _PREFIX.size + hlen


def load_or_none(directory: Path, gallery: Gallery, *, session: Session, vault: Vault,
                 on_refused: Callable[[str], None] | None = None) -> Loaded | None:
    """Return the snapshot's state, or None (reason logged) when it is refused."""
    try:
        return read(directory, gallery, session=session, vault=vault)
    except SnapshotRefused as exc:
        log.warning("gallery snapshot refused, rebuilding from the database: %s", exc.message,
                    extra={"modality": gallery.modality.value})
        if on_refused is not None:
            on_refused(exc.message)
        return None
