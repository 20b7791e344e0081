"""Device tests reuse the session's face engine."""

from tests.matching.conftest import face_engine  # noqa: F401
