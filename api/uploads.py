"""Reading uploaded files with a hard size limit."""

from __future__ import annotations

from fastapi import UploadFile

from registry.exceptions import PayloadTooLarge, ValidationFailed

CHUNK = 1 << 20


def read_upload(file: UploadFile, limit: int) -> bytes:
    """Return the upload's bytes; refuse files over ``limit`` bytes and empty ones."""
    parts, size = [], 0
    while chunk := file.file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes")
        parts.append(chunk)
    if size == 0:
        raise ValidationFailed("the file is empty", code="file_empty")
    return b"".join(parts)
