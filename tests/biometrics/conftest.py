"""Biometrics fixtures: the station photos the enrollment tests use."""

from tests.enrollment.conftest import face_jpeg  # noqa: F401  (a passing station photo)
