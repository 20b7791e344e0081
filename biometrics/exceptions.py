"""Errors of the biometrics domain (mapped to HTTP in api/errors.py)."""

from __future__ import annotations

from matching.exceptions import GuardidError

# What a caller is told to wait before retrying while the galleries load (s).
LOADING_RETRY_AFTER_S = 5


class BiometricsError(GuardidError):
    """A biometrics operation failed."""

    code = "biometrics_error"


class GalleryLoading(BiometricsError):
    """The galleries are still being loaded at start-up: nothing can be searched yet."""

    code = "gallery_loading"

    def __init__(self, message: str, *, progress: dict | None = None,
                 retry_after: int = LOADING_RETRY_AFTER_S):
        super().__init__(message, details={"retry_after_s": retry_after,
                                           "progress": progress or {}})
        self.retry_after = retry_after


class GalleryBackendError(BiometricsError):
    """The external gallery backend (Milvus) could not be reached or refused a call: the
    search is not answered (503) rather than answered from a part of the gallery."""

    code = "gallery_unavailable"
