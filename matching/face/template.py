"""Face templates as values: a normalised 128-d vector, the model that made it, its quality."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from matching.exceptions import TemplateError
from matching.face.params import EMBEDDING_DIM, MODEL_ID, TEMPLATE_VERSION

MAGIC = b"GFT"
# magic | version u8 | model id 24 bytes (ascii, NUL padded) | dim u16 | quality f32
_HEADER = struct.Struct("<3sB24sHf")


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """An L2-normalised face embedding with its model id, format version and quality."""

    vector: np.ndarray
    model_id: str = MODEL_ID
    version: int = TEMPLATE_VERSION
    quality: float = 0.0
    measures: dict = field(default_factory=dict)

    @classmethod
    def from_embedding(cls, embedding: np.ndarray, *, quality: float = 0.0,
                       measures: dict | None = None, model_id: str = MODEL_ID) -> FaceTemplate:
        """Return a template for a raw embedding (normalised here)."""
        vec = np.asarray(embedding, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(vec))
        if vec.shape != (EMBEDDING_DIM,) or not np.isfinite(norm) or norm == 0.0:
            raise TemplateError("a face embedding must be 128 finite values, not all zero")
        return cls(vector=vec / norm, quality=quality, measures=measures or {},
                   model_id=model_id)

    def to_bytes(self) -> bytes:
        """Serialise to the versioned binary form stored (encrypted) in the database."""
        header = _HEADER.pack(MAGIC, self.version, self.model_id.encode("ascii")[:24],
                              self.vector.size, float(self.quality))
        return header + self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceTemplate:
        """Parse bytes made by :meth:`to_bytes`; raise TemplateError when malformed."""
        if len(data) < _HEADER.size:
            raise TemplateError("face template is truncated")
        magic, version, model, dim, quality = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise TemplateError("not a face template")
        if version != TEMPLATE_VERSION:
            raise TemplateError(f"face template version {version} is not supported")
        if dim != EMBEDDING_DIM or len(data) != _HEADER.size + 4 * dim:
            raise TemplateError("face template has the wrong length")
        vec = np.frombuffer(data, dtype="<f4", offset=_HEADER.size).astype(np.float32)
        if not np.all(np.isfinite(vec)) or abs(float(np.linalg.norm(vec)) - 1.0) > 1e-3:
            raise TemplateError("face template vector is not a normalised embedding")
        return cls(vector=vec, model_id=model.rstrip(b"\0").decode("ascii"), version=version,
                   quality=float(quality))


def face_similarity(a: FaceTemplate, b: FaceTemplate) -> float:
    """Return the cosine similarity of two templates of the same model (1.0 = identical)."""
    if a.model_id != b.model_id:
        raise TemplateError(f"cannot compare {a.model_id} with {b.model_id} templates")
    return float(np.dot(a.vector, b.vector))


def best_similarity(probe: FaceTemplate, templates: list[FaceTemplate]) -> float:
    """Return the best similarity of ``probe`` to any of a guard's templates.

    A guard may hold several photos (enrolment, re-enrolment, different lighting). Taking the
    best is the usual multi-sample rule: a genuine probe needs to resemble one good sample,
    and the false-match rate grows only with the (small) number of samples per guard.
    """
    if not templates:
        raise TemplateError("no templates to compare with")
    return max(face_similarity(probe, t) for t in templates)
