"""The two Milvus collections and every call guardid makes to Milvus (pymilvus, 2.3 line).

``<prefix>_faces``: one row per face template (primary key: the biometric id), its guard and
its 128-d vector, searched by inner product (an exact FLAT index: the same ranking as the
embedded exact gallery). ``<prefix>_fingers``: one row per stored finger code (primary key:
biometric id * ``CODE_SLOTS`` + the code's rank), its biometric and guard and the packed
binary MCC code, in one partition per ISO finger position (``p0`` unknown .. ``p10``), searched
by Hamming distance. Each collection's index comes from an :class:`IndexPlan`: exact scans by
default (FLAT / BIN_FLAT: the same ranking as the embedded exact galleries), or sub-linear ones
for galleries past one machine (HNSW for faces; BIN_IVF_FLAT for finger codes, which probes
``nprobe`` of ``nlist`` inverted lists per segment).

Consistency: every write's Milvus timestamp is noted (``written_ts``) and the indexer keeps it
with its cursor. A gallery searches with that timestamp as Milvus's guarantee timestamp: the
query nodes answer only once they have applied every write up to it, so the search sees each
change the cursor covers (what the gallery does not find in its own tail), which is what a
Strong read guarantees the gallery; Strong always waits for the next time tick (~200 ms a call
on a default Milvus), a read as of a timestamp only until the query nodes have passed that
timestamp (no wait once they have; right after the write, one to two ticks). With no
timestamp known, and for counts and id listings, Strong.
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
FACE_INDEXES = ("FLAT", "HNSW")
FINGER_INDEXES = ("BIN_FLAT", "BIN_IVF_FLAT")
EXACT_INDEXES = ("FLAT", "BIN_FLAT")
# The vector field of each collection (its index is named after it).
VECTOR_FIELD = {"faces": "vector", "fingers": "code"}
# HNSW graph degree and build beam of the face index (Milvus's usual values for 128-d).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
# Milvus caps the ids in one ``in`` expression and the rows of one request; stay well below.
EXPR_CHUNK = 2_000
CONSISTENCY = "Strong"
CONNECT_TIMEOUT_S = 10.0
# Opening the collections: attempts, and the pause between them (a replica that lost the race
# to create them waits for the winner's partitions and index).
CREATE_ATTEMPTS = 10
CREATE_RETRY_S = 0.5
# Longest wait for a collection's load (Milvus loads every sealed segment of it first).
LOAD_TIMEOUT_S = 600.0
# Segment state "Sealed" in Milvus's query segment info, and the pause between looks while
# waiting for the query nodes to serve newly indexed segments.
SEALED = 3
INDEX_POLL_S = 0.5


@dataclass(frozen=True)
class IndexPlan:
    """Which Milvus index each collection gets, and how wide a search looks.

    ``face``: FLAT (exact) or HNSW (searched with beam ``face_ef``, at least the k asked).
    ``finger``: BIN_FLAT (exact) or BIN_IVF_FLAT with ``finger_nlist`` lists per segment, of
    which a search probes ``finger_nprobe`` (the share of codes touched is about nprobe/nlist
    of the position partitions searched; segments too small to index are scanned whole).
    """

    face: str = "FLAT"
    face_ef: int = 128
    finger: str = "BIN_FLAT"
    finger_nlist: int = 1024
    finger_nprobe: int = 16

    def __post_init__(self) -> None:
        if self.face not in FACE_INDEXES or self.finger not in FINGER_INDEXES:
            raise ValueError(f"unknown Milvus index: {self.face} / {self.finger}")

    def index_type(self, kind: str) -> str:
        """The index type of the ``kind`` ("faces" | "fingers") collection."""
        return self.face if kind == "faces" else self.finger

    def face_index(self) -> dict:
        """The face collection's index parameters."""
        params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} \
            if self.face == "HNSW" else {}
        return {"index_type": self.face, "metric_type": "IP", "params": params}

    def finger_index(self) -> dict:
        """The finger collection's index parameters."""
        params = {"nlist": self.finger_nlist} if self.finger == "BIN_IVF_FLAT" else {}
        return {"index_type": self.finger, "metric_type": "HAMMING", "params": params}

    def face_search(self, k: int) -> dict:
        """Search parameters of a face search for ``k`` results."""
        params = {"ef": max(self.face_ef, k)} if self.face == "HNSW" else {}
        return {"metric_type": "IP", "params": params}

    def finger_search(self) -> dict:
        """Search parameters of a finger code search."""
        params = {"nprobe": self.finger_nprobe} if self.finger == "BIN_IVF_FLAT" else {}
        return {"metric_type": "HAMMING", "params": params}


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

    def __init__(self, uri: str, prefix: str, plan: IndexPlan | None = None):
        self.uri, self.prefix = uri, prefix
        self.plan = plan or IndexPlan()
        self.alias = f"guardid-{prefix}-{id(self)}"
        self._lock = threading.Lock()
        self._faces = self._fingers = None
        self.written_ts = 0  # the newest Milvus timestamp of this store's acknowledged writes

    def _connect(self) -> None:
        """Connect and create (or open) the collections and their indexes, once."""
        from pymilvus import connections

        with self._lock:
            if self._faces is not None:
                return
            try:
                connections.connect(alias=self.alias, uri=self.uri, timeout=CONNECT_TIMEOUT_S)
                self._faces, self._fingers = self._open_both()
            except Exception as exc:  # noqa: BLE001 (pymilvus raises many kinds)
                self._faces = self._fingers = None
                raise GalleryBackendError(
                    f"cannot reach Milvus at {_safe(self.uri)}: {type(exc).__name__}: "
                    f"{_brief(exc)}") from exc

    def _open_both(self) -> tuple:
        """Return both collections, loaded; each created with its schema, partitions and
        index if it does not exist, and both loads running on the server together. One retry
        covers every step: replicas starting together race to create the collections (the
        loser opens the winner's), and another replica re-indexing may release a collection
        while this one waits for its load."""
        from pymilvus import utility

        for attempt in range(CREATE_ATTEMPTS):
            try:
                both = self._create_or_open("faces"), self._create_or_open("fingers")
                for c in both:
                    utility.wait_for_loading_complete(c.name, timeout=LOAD_TIMEOUT_S,
                                                      using=self.alias)
                return both
            except Exception:  # noqa: BLE001 (pymilvus raises MilvusException for all)
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(CREATE_RETRY_S)
        raise AssertionError("unreachable")

    def _create_or_open(self, kind: str):  # noqa: ANN202
        """Return the ``kind`` collection, created if it does not exist, its load started
        (not waited for); one attempt of :meth:`_open_both`."""
        from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, utility

        name = f"{self.prefix}_{kind}"
        field = VECTOR_FIELD[kind]
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
        want = self.plan.face_index() if kind == "faces" else self.plan.finger_index()
        if c.has_index(index_name=field) and not _same_index(
                c.index(index_name=field).params, want):
            # the plan changed (settings): re-index what is stored, nothing is lost
            c.release()
            c.drop_index(index_name=field)
        if not c.has_index(index_name=field):
            c.create_index(field, want, index_name=field)
        c.load(_async=True)
        return c

    def index_params(self, kind: str) -> dict:
        """Return the index Milvus holds on the ``kind`` collection (its parameters)."""
        return dict(self._call("index", self._of(kind).index,
                               index_name=VECTOR_FIELD[kind]).params)

    def wait_indexed(self, timeout_s: float = 600.0) -> None:
        """Flush both collections, wait until Milvus has indexed every segment and the query
        nodes serve the indexed segments (until then a search scans the growing ones whole:
        right answers, exact-scan speed). For benchmarks and tests; serving never waits."""
        from pymilvus import utility

        deadline = time.monotonic() + timeout_s
        for kind in ("faces", "fingers"):
            c, field = self._of(kind), VECTOR_FIELD[kind]
            self._call("flush", c.flush)
            self._call("index wait", utility.wait_for_index_building_complete,
                       c.name, index_name=field, timeout=timeout_s, using=self.alias)
            want = self._call("index progress", utility.index_building_progress, c.name,
                              index_name=field, using=self.alias)["indexed_rows"]
            # an exact plan (FLAT, BIN_FLAT) serves segments with no index of their own
            flat = self.plan.index_type(kind) in EXACT_INDEXES
            while True:
                segs = self._call("segment info", utility.get_query_segment_info, c.name,
                                  using=self.alias)
                served = sum(s.num_rows for s in segs
                             if s.state == SEALED and (flat or s.index_name))
                if served >= want and all(s.state == SEALED for s in segs):
                    break
                if time.monotonic() > deadline:
                    raise GalleryBackendError(f"Milvus did not serve the indexed {kind} "
                                              f"segments within {timeout_s:.0f} s")
                time.sleep(INDEX_POLL_S)

    def _of(self, kind: str):  # noqa: ANN202 (pymilvus Collection)
        """The ``kind`` ("faces" | "fingers") collection."""
        return self.faces if kind == "faces" else self.fingers

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

    def _write(self, what: str, fn, *args, **kwargs) -> None:  # noqa: ANN001
        """Run one Milvus write and note its timestamp (see ``written_ts``)."""
        result = self._call(what, fn, *args, **kwargs)
        ts = int(getattr(result, "timestamp", 0) or 0)
        with self._lock:
            self.written_ts = max(self.written_ts, ts)

    def put_faces(self, ids: list[int], guards: list[int], vectors: np.ndarray) -> None:
        """Write face vectors under their biometric ids (an id already there is replaced)."""
        if not ids:
            return
        v = np.ascontiguousarray(vectors, np.float32).reshape(len(ids), FACE_DIM)
        self._write("face upsert", self.faces.upsert,
                   [[int(i) for i in ids], [int(g) for g in guards], v.tolist()])

    def drop_faces(self, ids: Iterable[int]) -> None:
        """Remove face vectors by biometric id (absent ids are fine)."""
        for chunk in _chunks(list(ids)):
            self._write("face delete", self.faces.delete, f"id in {chunk}")

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
                self._write("finger insert", self.fingers.insert, list(rows),
                           partition_name=_partition(position))

    def drop_fingers(self, ids: Iterable[int]) -> None:
        """Remove every code of these biometrics (absent ids are fine)."""
        for chunk in _chunks(list(ids)):
            self._write("finger delete", self.fingers.delete, f"bio in {chunk}")

    def search_faces(self, vector: np.ndarray, k: int, *, ts: int = 0
                     ) -> list[tuple[int, float]]:
        """Return the ``k`` face templates nearest ``vector`` as (biometric id, score), as
        of at least Milvus timestamp ``ts`` (0: Strong)."""
        res = self._call("face search", self.faces.search,
                         [np.asarray(vector, np.float32).ravel().tolist()], "vector",
                         self.plan.face_search(k), limit=k, **_as_of(ts))
        return [(int(i), float(d)) for i, d in zip(res[0].ids, res[0].distances, strict=True)]

    def search_codes(self, packed: np.ndarray, k: int, positions: list[int] | None, *,
                     ts: int = 0) -> list[CodeHit]:
        """Return up to ``k`` stored codes nearest each probe code, in ``positions``'
        partitions (None: all), by Hamming distance, as of at least Milvus timestamp ``ts``
        (0: Strong)."""
        if not len(packed):
            return []
        parts = None if positions is None else [_partition(p) for p in positions]
        res = self._call("finger search", self.fingers.search,
                         [c.tobytes() for c in packed], "code", self.plan.finger_search(),
                         limit=k, partition_names=parts, output_fields=["bio", "bits"],
                         **_as_of(ts))
        return [CodeHit(j, int(h.entity.get("bio")), int(round(h.distance)),
                        int(h.entity.get("bits")))
                for j, hits in enumerate(res) for h in hits]

    def finger_codes(self, ids: list[int], positions: list[int] | None = None, *,
                     ts: int = 0) -> dict[int, np.ndarray]:
        """Return the stored packed codes of each biometric, in rank order, looked up in
        ``positions``' partitions (None: all), as of at least Milvus timestamp ``ts``
        (0: Strong)."""
        out: dict[int, list[tuple[int, bytes]]] = {}
        parts = None if positions is None else [_partition(p) for p in positions]
        for chunk in _chunks(ids):
            rows = self._call("finger query", self.fingers.query, f"bio in {chunk}",
                              output_fields=["row", "bio", "code"], partition_names=parts,
                              **_as_of(ts))
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

    def count_biometrics(self, kind: str) -> int:
        """Return how many biometrics the ``kind`` collection holds (fingers: those with a
        rank-0 code, i.e. every finger that has codes)."""
        c = self._of(kind)
        expr = "" if kind == "faces" else f"row % {CODE_SLOTS} == 0"
        rows = self._call("count", c.query, expr, output_fields=["count(*)"],
                          consistency_level=CONSISTENCY)
        return int(rows[0]["count(*)"])

    def held(self, kind: str, ids: list[int]) -> set[int]:
        """Return which of ``ids`` the ``kind`` collection holds (a lookup by key)."""
        c = self._of(kind)
        got: set[int] = set()
        for chunk in _chunks(ids):
            if kind == "faces":
                expr, key = f"id in {chunk}", "id"
            else:
                expr, key = f"row in {[b * CODE_SLOTS for b in chunk]}", "bio"
            rows = self._call("query", c.query, expr, output_fields=[key],
                              consistency_level=CONSISTENCY)
            got.update(int(r[key]) for r in rows)
        return got

    def sample_ids(self, kind: str, n: int, start: int) -> list[int]:
        """Return up to ``n`` biometric ids the ``kind`` collection holds, the first ones
        from biometric id ``start`` on (wrapping to the lowest): one keyset page, not a scan."""
        c = self._of(kind)
        pk, key, slots = ("id", "id", 1) if kind == "faces" else ("row", "bio", CODE_SLOTS)
        got: list[int] = []
        for lo in (int(start) * slots, 0):
            where = f"{pk} >= {lo}" + ("" if kind == "faces" else f" and {pk} % {slots} == 0")
            rows = self._call("query", c.query, where, output_fields=[pk, key],
                              limit=n - len(got), consistency_level=CONSISTENCY)
            got += [int(r[key]) for r in sorted(rows, key=lambda r: r[pk])
                    if int(r[key]) not in got]
            if len(got) >= n or lo == 0:
                return got[:n]
        return got

    def count(self, kind: str) -> int:
        """Return how many rows the ``kind`` collection holds."""
        c = self._of(kind)
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


def _as_of(ts: int) -> dict:
    """Return the consistency arguments of a read that must see every write up to Milvus
    timestamp ``ts`` (a guarantee timestamp), or of a Strong read when ``ts`` is 0."""
    if ts > 0:
        return {"consistency_level": "Customized", "guarantee_timestamp": int(ts)}
    return {"consistency_level": CONSISTENCY}


def _same_index(have: dict, want: dict) -> bool:
    """Whether an existing index (pymilvus ``Index.params``) is the one ``want`` asks for."""
    got = have.get("params", {})
    if isinstance(got, str):  # some pymilvus versions return the params as JSON text
        import json

        got = json.loads(got)
    return (have.get("index_type") == want["index_type"]
            and have.get("metric_type") == want["metric_type"]
            and {k: int(v) for k, v in got.items()} == want["params"])


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
