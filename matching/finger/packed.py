"""Finger templates by id, packed into a few numpy arrays instead of one object each.

A city gallery holds a million templates; as objects (a dataclass, its minutiae array and the
array's header) each costs ~1 KB beyond its minutiae and a snapshot load builds a million of
them. Here the minutiae of all templates are rows of one float32 array and the rest columns
of small arrays; a template object is built when one is read (the shortlist of a search, an
exhaustive scan), equal in content and digest to the one stored.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import numpy as np

from matching.finger.template import FingerprintTemplate

# Rows of replaced or removed templates are dropped once they are this share of all rows
# (and at least COMPACT_MIN_ROWS), so the arrays stay within ~1/(1 - share) of the live size.
COMPACT_DEAD_SHARE = 0.25
COMPACT_MIN_ROWS = 4096


class Rows:
    """A growable numpy array (amortised appends), viewed as its used prefix."""

    def __init__(self, dtype: np.dtype, width: int = 0):
        self.width = width
        self.buf = np.zeros((16, width) if width else 16, dtype)
        self.n = 0

    def append(self, values: np.ndarray) -> None:
        """Append rows."""
        need = self.n + len(values)
        if need > len(self.buf):
            cap = max(need, 2 * len(self.buf))
            grown = np.zeros((cap, self.width) if self.width else cap, self.buf.dtype)
            grown[:self.n] = self.buf[:self.n]
            self.buf = grown
        self.buf[self.n:need] = values
        self.n = need

    @property
    def view(self) -> np.ndarray:
        """Return the used rows (a view)."""
        return self.buf[:self.n]

    def replace(self, values: np.ndarray) -> None:
        """Replace the content with ``values``: taken as it is when it is a writable array of
        its own (a fresh copy or fancy-indexed result), else copied."""
        owned = (isinstance(values, np.ndarray) and values.base is None
                 and values.flags.writeable and values.dtype == self.buf.dtype)
        self.buf = values if owned else np.array(values, dtype=self.buf.dtype, copy=True)
        self.n = len(values)


class PackedTemplates(MutableMapping[int, FingerprintTemplate]):
    """Templates by id (a mutable mapping); not thread-safe on its own (the index locks)."""

    def __init__(self) -> None:
        self.minutiae = Rows(np.float32, 5)  # every template's minutiae, by slot
        self.start, self.count = Rows(np.int64), Rows(np.int32)  # its rows, per slot
        self.size = Rows(np.int32, 2)  # image width and height, per slot
        self.quality = Rows(np.float64)
        self.position = Rows(np.uint8)
        self.model = Rows(np.uint8)  # index into self.models, per slot
        self.models: list[str] = []
        self.slots: dict[int, int] = {}  # id -> slot
        self._dead_rows = 0

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[int]:
        return iter(self.slots)

    def __contains__(self, fid: object) -> bool:
        return fid in self.slots

    def __getitem__(self, fid: int) -> FingerprintTemplate:
        s = self.slots[fid]
        a, n = int(self.start.view[s]), int(self.count.view[s])
        w, h = self.size.view[s].tolist()
        return FingerprintTemplate(self.minutiae.view[a:a + n].copy(), w, h,
                                   float(self.quality.view[s]),
                                   self.models[int(self.model.view[s])],
                                   int(self.position.view[s]))

    def __setitem__(self, fid: int, t: FingerprintTemplate) -> None:
        self.put_many([fid], [t])

    def put_many(self, fids: list[int], templates: list[FingerprintTemplate]) -> None:
        """Store templates under ``fids`` (an id present is replaced; an id given twice keeps
        its last template), appending to each array once."""
        last = {int(f): k for k, f in enumerate(fids)}
        for fid in last:
            if fid in self.slots:
                del self[fid]
        ts = [templates[k] for k in last.values()]
        if not ts:
            return
        for t in ts:
            if t.model_id not in self.models:
                self.models.append(t.model_id)
        counts = np.array([len(t.minutiae) for t in ts], np.int64)
        first = self.start.n
        self.start.append(self.minutiae.n + np.concatenate([[0], np.cumsum(counts)[:-1]]))
        self.count.append(counts)
        self.minutiae.append(np.concatenate(
            [np.asarray(t.minutiae, np.float32).reshape(-1, 5) for t in ts]))
        self.size.append(np.array([[t.width, t.height] for t in ts]))
        self.quality.append(np.array([t.quality for t in ts], np.float64))
        self.position.append(np.array([t.position for t in ts]))
        self.model.append(np.array([self.models.index(t.model_id) for t in ts]))
        self.slots.update(zip(last, range(first, first + len(ts)), strict=True))

    def __delitem__(self, fid: int) -> None:
        s = self.slots.pop(fid)
        self._dead_rows += int(self.count.view[s])
        if self._dead_rows >= max(COMPACT_MIN_ROWS, COMPACT_DEAD_SHARE * self.minutiae.n):
            self.compact()

    def compact(self) -> None:
        """Drop the rows and slots of replaced or removed templates (ids keep their order)."""
        fids = list(self.slots)
        old = np.array([self.slots[f] for f in fids], np.int64)
        counts = self.count.view[old]
        rows = np.repeat(self.start.view[old] - np.concatenate(
            [[0], np.cumsum(counts)[:-1]]), counts) + np.arange(int(counts.sum()))
        self.minutiae.replace(self.minutiae.view[rows])
        self.start.replace(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64))
        for col in (self.count, self.size, self.quality, self.position, self.model):
            col.replace(col.view[old])
        self.slots = dict(zip(fids, range(len(fids)), strict=True))
        self._dead_rows = 0

    def columns(self) -> dict[str, np.ndarray]:
        """Return the packed arrays in id order (views; compacted first when a template was
        replaced or removed since), for a snapshot."""
        if len(self.slots) != self.start.n:
            self.compact()
        return {"ids": np.fromiter(self.slots, np.int64, len(self.slots)),
                "minutiae": self.minutiae.view, "minutiae_counts": self.count.view,
                "sizes": self.size.view, "quality": self.quality.view,
                "positions": self.position.view, "models": self.model.view}

    @classmethod
    def from_columns(cls, ids: np.ndarray, minutiae: np.ndarray, counts: np.ndarray,
                     sizes: np.ndarray, quality: np.ndarray, positions: np.ndarray,
                     models: np.ndarray, model_ids: list[str]) -> PackedTemplates:
        """Return the store :meth:`columns` describes (the arrays are taken, not copied)."""
        out = cls()
        out.minutiae.replace(minutiae)
        out.count.replace(counts.astype(np.int32))
        out.start.replace(np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64))
        out.size.replace(sizes)
        out.quality.replace(quality)
        out.position.replace(positions)
        out.model.replace(models)
        out.models = list(model_ids)
        out.slots = dict(zip(ids.tolist(), range(len(ids)), strict=True))
        return out
