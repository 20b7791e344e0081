"""The two Milvus collections and every call guardid makes to Milvus (pymilvus, 2.3 line).

``<prefix>_faces``: one row per face template (primary key: the biometric id), its guard and
its 128-d vector, searched by inner product (an exact FLAT index: the same ranking as the
embedded exact gallery). ``<prefix>_fingers``: one row per stored finger code (primary key:
biometric id * ``CODE_SLOTS`` + the code's rank), its biometric and guard and the packed
binary MCC code, in one partition per ISO finger position (``p0`` unknown .. ``p10``), searched
by Hamming distance (exact BIN_FLAT by default). Every search and query asks for Strong
consistency: it sees every write acknowledged before it.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from biometrics.exceptions import GalleryBackendError

FACE_DIM = 128
CODE_BITS = 384
# Row keys of finger codes: a biometric's codes take keys bio * CODE_SLOTS + rank, so a
# re-applied change writes the same keys (it deletes the biometric's rows first).
CODE_SLOTS = 64
POSITIONS = range(0, 11)
# Index types: exact scans, the same results as the embedded galleries' reference modes.
FACE_INDEX = {"index_type": "FLAT", "metric_type": "IP", "params": {}}
FINGER_INDEX = {"index_type": "BIN_FLAT", "metric_type": "HAMMING", "params": {}}
# Milvus caps the ids in one ``in`` expression and the rows of one request; stay well below.
EXPR_CHUNK = 2_000
CONSISTENCY = "Strong"
CONNECT_TIMEOUT_S = 10.0
# Opening the collections: attempts, and the pause between them (a replica that lost the race
# to create them waits for the winner's partitions and index).
CREATE_ATTEMPTS = 10
CREATE_RETRY_S = 0.5


@dataclass(frozen=True)
class CodeHit:
    """One stored finger code near a probe code."""

    probe_row: int
    biometric_id: int
    distance: int
    bits: int  # the stored code's popcount


def _partition(position: int) -> str:
    """Return the partition of an ISO finger position (0: unknown)."""
    return f"p{int(position)}"


class MilvusStore:
    """Both collections of one deployment (``prefix``) on one Milvus server or cluster."""

    def __init__(self, uri: str, prefix: str):
        self.uri, self.prefix = uri, prefix
        self.alias = f"guardid-{prefix}-{id(self)}"
        self._lock = threading.Lock()
        self._faces = self._fingers = None

    def _connect(self) -> None:
        """Connect and create (or open) the collections and their indexes, once."""
        from pymilvus import connections

        with self._lock:
            if self._faces is not None:
                return
            try:
                connections.connect(alias=self.alias, uri=self.uri, timeout=CONNECT_TIMEOUT_S)
                self._faces = self._collection("faces")
                self._fingers = self._collection("fingers")
            except Exception as exc:  # noqa: BLE001 (pymilvus raises many kinds)
                self._faces = self._fingers = None
                raise GalleryBackendError(
                    f"cannot reach Milvus at {_safe(self.uri)}: {type(exc).__name__}: "
                    f"{_brief(exc)}") from exc

    def _collection(self, kind: str):  # noqa: ANN202 (pymilvus Collection)
        """Return the ``kind`` collection, loaded; created with its schema, partitions and
        index if it does not exist. Replicas starting together may race to create it: a
        creation that fails because another won is retried as an open."""
        for attempt in range(CREATE_ATTEMPTS):
            try:
                return self._create_or_open(kind)
            except Exception:  # noqa: BLE001 (pymilvus raises MilvusException for all)
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(CREATE_RETRY_S)
        raise AssertionError("unreachable")

    def _create_or_open(self, kind: str):  # noqa: ANN202
        """One attempt of :meth:`_collection`."""
        from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, utility

        name = f"{self.prefix}_{kind}"
        field = "vector" if kind == "faces" else "code"
        if not utility.has_collection(name, using=self.alias):
            if kind == "faces":
                fields = [FieldSchema("id", DataType.INT64, is_primary=True),
                          FieldSchema("guard", DataType.INT64),
                          FieldSchema("vector", DataType.FLOAT_VECTOR, dim=FACE_DIM)]
            else:
                fields = [FieldSchema("row", DataType.INT64, is_primary=True),
                          FieldSchema("bio", DataType.INT64),
                          FieldSchema("guard", DataType.INT64),
                          FieldSchema("bits", DataType.INT64),  # the code's popcount
                          FieldSchema("code", DataType.BINARY_VECTOR, dim=CODE_BITS)]
            Collection(name, CollectionSchema(fields, description=f"guardid {kind}"),
                       using=self.alias, consistency_level=CONSISTENCY)
        c = Collection(name, using=self.alias)
        if kind == "fingers":
            have = {p.name for p in c.partitions}
            for p in POSITIONS:
                if _partition(p) not in have:
                    c.create_partition(_partition(p))
        if not c.has_index():
            c.create_index(field, FACE_INDEX if kind == "faces" else FINGER_INDEX)
        c.load()
        return c

    @property
    def faces(self):  # noqa: ANN201
        """The face collection (connects on first use)."""
        self._connect()
        return self._faces

    @property
    def fingers(self):  # noqa: ANN201
        """The finger code collection (connects on first use)."""
        self._connect()
        return self._fingers

    def _call(self, what: str, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        """Run one Milvus call; a failure becomes GalleryBackendError (never a silent gap)."""
        try:
            return fn(*args, **kwargs)
        except GalleryBackendError:
            raise
        except Exception as exc:  # noqa: BLE001 (pymilvus raises many kinds)
            raise GalleryBackendError(
                f"Milvus {what} failed: {type(exc).__name__}: {_brief(exc)}") from exc

    def put_faces(self, ids: list[int], guards: list[int], vectors: np.ndarray) -> None:
        """Write face vectors under their biometric ids (an id already there is replaced)."""
        if not ids:
            return
        v = np.ascontiguousarray(vectors, np.float32).reshape(len(ids), FACE_DIM)
        self._call("face upsert", self.faces.upsert,
                   [[int(i) for i in ids], [int(g) for g in guards], v.tolist()])

    def drop_faces(self, ids: Iterable[int]) -> None:
        """Remove face vectors by biometric id (absent ids are fine)."""
        for chunk in _chunks(list(ids)):
            self._call("face delete", self.faces.delete, f"id in {chunk}")

    def put_fingers(self, ids: list[int], guards: list[int], positions: list[int],
                    codes: list[np.ndarray]) -> None:
        """Write each finger's packed codes (its old codes, if any, are removed first)."""
        self.drop_fingers(ids)
        by_part: dict[int, tuple[list, list, list, list, list]] = {}
        for bio, guard, position, packed in zip(ids, guards, positions, codes, strict=True):
            rows = by_part.setdefault(int(position), ([], [], [], [], []))
            bits = np.unpackbits(packed, axis=1).sum(1) if len(packed) else []
            for rank, code in enumerate(packed[:CODE_SLOTS]):
                rows[0].append(int(bio) * CODE_SLOTS + rank)
                rows[1].append(int(bio))
                rows[2].append(int(guard))
                rows[3].append(int(bits[rank]))
                rows[4].append(code.tobytes())
        for position, rows in by_part.items():
            if rows[0]:
                self._call("finger insert", self.fingers.insert, list(rows),
                           partition_name=_partition(position))

    def drop_fingers(self, ids: Iterable[int]) -> None:
        """Remove every code of these biometrics (absent ids are fine)."""
        for chunk in _chunks(list(ids)):
            self._call("finger delete", self.fingers.delete, f"bio in {chunk}")

    def search_faces(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return the ``k`` face templates nearest ``vector`` as (biometric id, score)."""
        res = self._call("face search", self.faces.search,
                         [np.asarray(vector, np.float32).ravel().tolist()], "vector",
                         {"metric_type": "IP"}, limit=k, consistency_level=CONSISTENCY)
        return [(int(i), float(d)) for i, d in zip(res[0].ids, res[0].distances, strict=True)]

    def search_codes(self, packed: np.ndarray, k: int, positions: list[int] | None
                     ) -> list[CodeHit]:
        """Return up to ``k`` stored codes nearest each probe code, in ``positions``'
        partitions (None: all), by Hamming distance."""
        if not len(packed):
            return []
        parts = None if positions is None else [_partition(p) for p in positions]
        res = self._call("finger search", self.fingers.search,
                         [c.tobytes() for c in packed], "code", {"metric_type": "HAMMING"},
                         limit=k, partition_names=parts, output_fields=["bio", "bits"],
                         consistency_level=CONSISTENCY)
        return [CodeHit(j, int(h.entity.get("bio")), int(round(h.distance)),
                        int(h.entity.get("bits")))
                for j, hits in enumerate(res) for h in hits]

    def finger_codes(self, ids: list[int]) -> dict[int, np.ndarray]:
        """Return the stored packed codes of each biometric, in rank order."""
        out: dict[int, list[tuple[int, bytes]]] = {}
        for chunk in _chunks(ids):
            rows = self._call("finger query", self.fingers.query, f"bio in {chunk}",
                              output_fields=["row", "bio", "code"],
                              consistency_level=CONSISTENCY)
            for r in rows:
                code = r["code"][0] if isinstance(r["code"], list) else r["code"]
                out.setdefault(int(r["bio"]), []).append((int(r["row"]), bytes(code)))
        return {b: np.frombuffer(b"".join(c for _, c in sorted(v)), np.uint8).reshape(
            len(v), CODE_BITS // 8) for b, v in out.items()}

    def ids(self, kind: str) -> set[int]:
        """Return every biometric id held in the ``kind`` ("faces" | "fingers") collection."""
        c, key = (self.faces, "id") if kind == "faces" else (self.fingers, "bio")
        got: set[int] = set()
        last = -1
        while True:  # keyset pages over the primary key
            pk = "id" if kind == "faces" else "row"
            rows = self._call("query", c.query, f"{pk} > {last}", output_fields=[pk, key],
                              limit=16_384, consistency_level=CONSISTENCY)
            if not rows:
                return got
            got.update(int(r[key]) for r in rows)
            last = max(int(r[pk]) for r in rows)

    def count(self, kind: str) -> int:
        """Return how many rows the ``kind`` collection holds."""
        c = self.faces if kind == "faces" else self.fingers
        rows = self._call("count", c.query, "", output_fields=["count(*)"],
                          consistency_level=CONSISTENCY)
        return int(rows[0]["count(*)"])

    def drop(self) -> None:
        """Drop both collections (a rebuild starts from empty ones)."""
        from pymilvus import utility

        self._connect()
        with self._lock:
            for kind in ("faces", "fingers"):
                self._call("drop", utility.drop_collection, f"{self.prefix}_{kind}",
                           using=self.alias)
            self._faces = self._fingers = None

    def close(self) -> None:
        """Close the connection."""
        from pymilvus import connections

        connections.disconnect(self.alias)
        self._faces = self._fingers = None


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    """Yield ``ids`` as int lists of at most EXPR_CHUNK."""
    for i in range(0, len(ids), EXPR_CHUNK):
        yield [int(x) for x in ids[i:i + EXPR_CHUNK]]


def _safe(uri: str) -> str:
    """Return ``uri`` without credentials (for messages and logs)."""
    u = urllib.parse.urlsplit(uri)
    host = u.hostname or ""
    return f"{u.scheme}://{host}{':' + str(u.port) if u.port else ''}"


def _brief(exc: Exception) -> str:
    """Return Milvus's own message of ``exc``, short (it names no person or template)."""
    return (getattr(exc, "message", None) or str(exc))[:200]
