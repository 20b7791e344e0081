"""The face gallery: a FAISS inner-product index over normalised templates, keyed by template id.

The wrapper owns FAISS's dangerous details: float32 C-contiguity, dimension checks, the ``-1``
"no result" label, id mapping, removal, and atomic, checksummed persistence. The database is
the truth: a saved index carries the caller's checkpoint (e.g. the template change sequence)
and :meth:`FaceIndex.load` refuses a file that is corrupt, of another format or stale, so the
caller rebuilds it from the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from matching import snapshot
from matching.exceptions import IndexFileError, MatchingError, SnapshotError

FILE_MAGIC = b"GIDX"
FILE_VERSION = 1
_PREFIX = struct.Struct("<4sHI")  # magic, version, header length
# HNSW cannot delete: removed entries stay as tombstones (filtered out of results) until the
# graph is rebuilt, which happens once they pass this share of the index.
HNSW_REBUILD_TOMBSTONE_SHARE = 0.2
# HNSW graph degree and search breadth (measured in bench/gallery_search.py).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# sq16 mode: a half-precision scan (half the memory traffic of float32) shortlists this many
# candidates per wanted result, re-scored exactly from the float32 vectors.
SQ16_SHORTLIST_FACTOR = 4
SQ16_SHORTLIST_MIN = 40
Mode = Literal["exact", "sq16", "hnsw"]
SNAPSHOT_KIND = "face"


@dataclass(frozen=True)
class Hit:
    """One candidate: the template id and its similarity (cosine; higher is closer)."""

    id: int
    score: float


class _RWLock:
    """Many concurrent readers (searches) or one writer (add/remove); writers go first.

    A waiting writer holds back new readers, so a steady stream of searches cannot starve an
    enrolment's index update.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the lock for reading."""
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock for writing."""
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Return ``vectors`` as a C-contiguous float32 (n, dim) matrix, or raise."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise MatchingError(f"vectors must have shape (n, {dim}), not {arr.shape}",
                            code="vector_shape")
    if not np.all(np.isfinite(arr)):
        raise MatchingError("vectors must be finite", code="vector_shape")
    return np.ascontiguousarray(arr)


def _as_ids(ids: Iterable[int]) -> np.ndarray:
    """Return ids as an int64 array."""
    return np.ascontiguousarray(np.fromiter((int(i) for i in ids), dtype=np.int64))


class FaceIndex:
    """A gallery of face templates.

    Modes: ``exact`` scans float32 vectors (exact, the default); ``sq16`` scans half-precision
    codes and re-scores a shortlist exactly (faster on large galleries; its agreement with
    exact is measured in bench/gallery_search.py); ``hnsw`` is a graph index for the largest
    galleries (approximate; recall measured against exact).
    """

    def __init__(self, dim: int = 128, *, mode: Mode = "exact",
                 hnsw_m: int = HNSW_M, ef_search: int = HNSW_EF_SEARCH):
        if mode not in ("exact", "sq16", "hnsw"):
            raise MatchingError(f"unknown index mode {mode!r}", code="index_mode")
        self.dim, self.mode, self.hnsw_m, self.ef_search = dim, mode, hnsw_m, ef_search
        self._lock = _RWLock()
        self._reset()

    def _reset(self) -> None:
        """Start an empty FAISS index and mapping."""
        self._codes = None  # sq16: the half-precision scan index beside the float32 one
        if self.mode in ("exact", "sq16"):
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            if self.mode == "sq16":
                self._codes = faiss.IndexIDMap2(faiss.IndexScalarQuantizer(
                    self.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT))
        else:
            self._index = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        self._labels = np.empty(0, dtype=np.int64)  # HNSW: internal position -> template id
        self._where: dict[int, int] = {}  # HNSW: live template id -> internal position
        self._dead: set[int] = set()  # HNSW: internal positions removed (tombstones)

    def __len__(self) -> int:
        """Return the number of live templates."""
        return int(self._index.ntotal) - len(self._dead)

    def ids(self) -> np.ndarray:
        """Return the live template ids."""
        with self._lock.read():
            if self.mode != "hnsw":
                return faiss.vector_to_array(self._index.id_map).copy()
            return np.fromiter(self._where.keys(), dtype=np.int64)

    def contains(self, template_id: int) -> bool:
        """True when ``template_id`` is in the gallery."""
        with self._lock.read():
            if self.mode != "hnsw":
                return bool(np.any(faiss.vector_to_array(self._index.id_map) == template_id))
            return int(template_id) in self._where

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add templates; an id already present is replaced."""
        id_arr = _as_ids(ids)
        mat = _as_matrix(vectors, self.dim)
        if len(id_arr) != len(mat) or len(set(id_arr.tolist())) != len(id_arr):
            raise MatchingError("ids must be unique and match the vectors", code="vector_shape")
        with self._lock.write():
            self._remove_locked(id_arr)
            if self.mode != "hnsw":
                self._index.add_with_ids(mat, id_arr)
                if self._codes is not None:
                    self._codes.add_with_ids(mat, id_arr)
                return
            start = int(self._index.ntotal)
            self._index.add(mat)
            self._labels = np.concatenate([self._labels, id_arr])
            self._where.update(zip(id_arr.tolist(), range(start, start + len(id_arr)),
                                   strict=True))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove templates; return how many were present."""
        with self._lock.write():
            removed = self._remove_locked(_as_ids(ids))
            if self.mode == "hnsw" and len(self._dead) > HNSW_REBUILD_TOMBSTONE_SHARE * max(
                    1, int(self._index.ntotal)):
                self._compact_locked()
            return removed

    def _remove_locked(self, ids: np.ndarray) -> int:
        """Remove ``ids`` (write lock held); return how many were present."""
        if len(ids) == 0:
            return 0
        if self.mode != "hnsw":
            if self._codes is not None:
                self._codes.remove_ids(faiss.IDSelectorBatch(ids))
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        count = 0
        for template_id in ids.tolist():
            pos = self._where.pop(template_id, None)
            if pos is not None:
                self._dead.add(pos)
                count += 1
        return count

    def _compact_locked(self) -> None:
        """Rebuild the HNSW graph without its tombstones (write lock held)."""
        live = sorted(self._where.items(), key=lambda kv: kv[1])
        vectors = np.vstack([self._index.reconstruct(pos) for _, pos in live]) if live else None
        self._reset()
        if vectors is not None:
            ids = np.array([tid for tid, _ in live], dtype=np.int64)
            self._index.add(vectors)
            self._labels = ids
            self._where = {int(t): i for i, t in enumerate(ids)}

    def search(self, vectors: np.ndarray, k: int = 10,
               threshold: float | None = None) -> list[list[Hit]]:
        """Return, per probe, up to ``k`` hits best first; below-threshold hits are dropped."""
        mat = _as_matrix(vectors, self.dim)
        if k < 1:
            raise MatchingError("k must be at least 1", code="vector_shape")
        with self._lock.read():
            if self._index.ntotal == 0:
                return [[] for _ in range(len(mat))]
            fetch = min(int(self._index.ntotal), k + len(self._dead))
            if self.mode == "hnsw":
                params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, fetch))
                scores, labels = self._index.search(mat, fetch, params=params)
            elif self.mode == "sq16":
                scores, labels = self._rescored(mat, fetch)
            else:
                scores, labels = self._index.search(mat, fetch)
            return [self._hits(s, lab, k, threshold) for s, lab in zip(scores, labels,
                                                                       strict=True)]

    def _rescored(self, mat: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Shortlist with the half-precision scan, then score the shortlist exactly."""
        short = min(int(self._index.ntotal), max(SQ16_SHORTLIST_MIN, SQ16_SHORTLIST_FACTOR * k))
        _, cand = self._codes.search(mat, short)
        scores = np.full((len(mat), k), -np.inf, dtype=np.float32)
        labels = np.full((len(mat), k), -1, dtype=np.int64)
        for row, (probe, ids) in enumerate(zip(mat, cand, strict=True)):
            ids = ids[ids >= 0]
            exact = self._index.reconstruct_batch(ids) @ probe
            order = np.argsort(-exact)[:k]
            scores[row, :len(order)], labels[row, :len(order)] = exact[order], ids[order]
        return scores, labels

    def _hits(self, scores: np.ndarray, labels: np.ndarray, k: int,
              threshold: float | None) -> list[Hit]:
        """Turn one FAISS result row into hits (no -1, no tombstones, threshold applied)."""
        hits: list[Hit] = []
        for score, label in zip(scores.tolist(), labels.tolist(), strict=True):
            if label < 0 or (threshold is not None and score < threshold):
                continue
            if self.mode == "hnsw":
                if label in self._dead:
                    continue
                label = int(self._labels[label])
            hits.append(Hit(id=int(label), score=float(score)))
            if len(hits) == k:
                break
        return hits

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, np.ndarray]], *, dim: int = 128,
                   mode: Mode = "exact", batch: int = 10_000) -> FaceIndex:
        """Build an index from (template id, vector) pairs, e.g. rows read from the database."""
        index = cls(dim, mode=mode)
        ids: list[int] = []
        vecs: list[np.ndarray] = []
        for template_id, vector in pairs:
            ids.append(template_id)
            vecs.append(np.asarray(vector, dtype=np.float32))
            if len(ids) == batch:
                index.add(ids, np.vstack(vecs))
                ids, vecs = [], []
        if ids:
            index.add(ids, np.vstack(vecs))
        return index

    def save(self, path: Path | str, checkpoint: str) -> None:
        """Write the index atomically with a checksum and the caller's ``checkpoint``."""
        with self._lock.read():
            blobs = [faiss.serialize_index(self._index).tobytes(), self._labels.tobytes(),
                     np.array(sorted(self._dead), dtype=np.int64).tobytes(),
                     b"" if self._codes is None else faiss.serialize_index(
                         self._codes).tobytes()]
            header = {"mode": self.mode, "dim": self.dim, "count": len(self),
                      "checkpoint": checkpoint, "sizes": [len(b) for b in blobs],
                      "sha256": hashlib.sha256(b"".join(blobs)).hexdigest(),
                      "hnsw_m": self.hnsw_m, "ef_search": self.ef_search}
        raw = json.dumps(header).encode()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(_PREFIX.pack(FILE_MAGIC, FILE_VERSION, len(raw)) + raw)
            for blob in blobs:
                fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path | str, *, expected_checkpoint: str) -> FaceIndex:
        """Read a saved index; raise IndexFileError when corrupt, foreign or stale."""
        try:
            data = Path(path).read_bytes()
            magic, version, hlen = _PREFIX.unpack_from(data)
            header = json.loads(data[_PREFIX.size:_PREFIX.size + hlen])
        except (OSError, struct.error, ValueError) as exc:
            raise IndexFileError(f"cannot read index file {path}") from exc
        if magic != FILE_MAGIC or version != FILE_VERSION:
            raise IndexFileError(f"{path} is not a guardid index of version {FILE_VERSION}")
        body = data[_PREFIX.size + hlen:]
        if len(body) != sum(header["sizes"]) or hashlib.sha256(body).hexdigest() != header[
                "sha256"]:
            raise IndexFileError(f"index file {path} is corrupt or truncated")
        if header["checkpoint"] != expected_checkpoint:
            raise IndexFileError(f"index file {path} is at checkpoint {header['checkpoint']}, "
                                 f"the database at {expected_checkpoint}")
        index = cls(header["dim"], mode=header["mode"], hnsw_m=header["hnsw_m"],
                    ef_search=header["ef_search"])
        a, b, c, d = header["sizes"]
        index._index = faiss.deserialize_index(np.frombuffer(body[:a], dtype=np.uint8))
        if index.mode == "sq16":
            index._codes = faiss.deserialize_index(
                np.frombuffer(body[a + b + c:a + b + c + d], dtype=np.uint8))
        if index.mode == "hnsw":
            index._labels = np.frombuffer(body[a:a + b], dtype=np.int64).copy()
            index._dead = set(np.frombuffer(body[a + b:a + b + c], dtype=np.int64).tolist())
            index._where = {int(t): i for i, t in enumerate(index._labels.tolist())
                            if i not in index._dead}
        return index

    def to_bytes(self, seq: int) -> bytes:
        """Return a snapshot of the index (FAISS index, labels, tombstones) that includes the
        template changes up to ``seq`` (matching/snapshot.py; the caller encrypts it)."""
        return self.to_parts(seq).tobytes()

    def to_parts(self, seq: int) -> snapshot.Packed:
        """Return :meth:`to_bytes` as parts (FAISS's serialisation is not copied again)."""
        with self._lock.read():
            blobs = {"faiss": faiss.serialize_index(self._index),
                     "labels": self._labels.copy(),
                     "dead": np.array(sorted(self._dead), dtype=np.int64),
                     "codes": b"" if self._codes is None else faiss.serialize_index(
                         self._codes)}
            meta = {"mode": self.mode, "dim": self.dim, "count": len(self),
                    "hnsw_m": self.hnsw_m, "ef_search": self.ef_search}
        return snapshot.pack_parts(SNAPSHOT_KIND, seq, meta, blobs)

    @classmethod
    def from_bytes(cls, data: bytes) -> tuple[FaceIndex, int]:
        """Return (index, seq) from :meth:`to_bytes`; raise SnapshotError when the bytes are
        corrupt, truncated, foreign or of another version."""
        seq, meta, b = snapshot.unpack(data, SNAPSHOT_KIND)
        try:
            index = cls(meta["dim"], mode=meta["mode"], hnsw_m=meta["hnsw_m"],
                        ef_search=meta["ef_search"])
            index._index = faiss.deserialize_index(np.frombuffer(b["faiss"], np.uint8))
            if index.mode == "sq16":
                index._codes = faiss.deserialize_index(np.frombuffer(b["codes"], np.uint8))
            if index.mode == "hnsw":
                index._labels = np.frombuffer(b["labels"], np.int64).copy()
                index._dead = set(np.frombuffer(b["dead"], np.int64).tolist())
                index._where = {int(t): i for i, t in enumerate(index._labels.tolist())
                                if i not in index._dead}
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise SnapshotError("face index snapshot is inconsistent") from exc
        if index._index.d != index.dim or len(index) != meta["count"]:
            raise SnapshotError("face index snapshot does not hold what its header says")
        return index, seq
