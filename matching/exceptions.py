"""The root of guardid's error tree, and the biometric core's own errors.

Every domain error derives from :class:`GuardidError` and carries a stable,
machine-readable ``code`` and a human ``message``. The root lives here because
``matching`` is the bottom layer that every other package may import; ``api``
maps each class to an HTTP status in one table (``api/errors.py``).

Tree::

    GuardidError
    ├── MatchingError                (matching/)
    │   ├── ImageError               image_unreadable, image_too_large, ...
    │   ├── QualityError             quality_rejected (with reasons)
    │   ├── TemplateError            template_invalid
│   └── IndexFileError           index_stale
│       └── SnapshotError        snapshot_invalid
    ├── RegistryError                (registry/exceptions.py)
    ├── EnrollmentError              (enrollment/exceptions.py)
    ├── InspectionError              (inspection/exceptions.py)
    └── ReportingError               (reporting/exceptions.py)
"""

from __future__ import annotations

from typing import Any


class GuardidError(Exception):
    """Base of every guardid domain error: a stable ``code`` and a human ``message``."""

    code = "guardid_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __reduce__(self):  # noqa: ANN204
        """Pickle code and details too (errors cross from compute worker processes)."""
        return _restore, (type(self), self.args, dict(self.__dict__))

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the JSON body the API sends."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class MatchingError(GuardidError):
    """A biometric operation failed."""

    code = "matching_error"


class ImageError(MatchingError):
    """An image could not be decoded or breaks a limit (size, pixels, format)."""

    code = "image_unreadable"


class QualityError(MatchingError):
    """A capture was decoded but fails the quality gate; ``details`` lists the reasons."""

    code = "quality_rejected"


class TemplateError(MatchingError):
    """A template's bytes are malformed, of an unknown version or of another model."""

    code = "template_invalid"


class IndexFileError(MatchingError):
    """A saved index is corrupt, of another format, or behind the database: rebuild it."""

    code = "index_stale"


class SnapshotError(IndexFileError):
    """An index snapshot (bytes) is corrupt, truncated, foreign or of another version."""

    code = "snapshot_invalid"


def _restore(cls: type, args: tuple, state: dict) -> GuardidError:
    """Rebuild a pickled GuardidError of any subclass with its attributes."""
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err
