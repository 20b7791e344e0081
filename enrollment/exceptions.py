"""Enrollment errors (mapped to HTTP in api/errors.py)."""

from __future__ import annotations

from matching.exceptions import GuardidError


class EnrollmentError(GuardidError):
    """An enrollment operation failed."""

    code = "enrollment_error"


class SessionClosed(EnrollmentError):
    """The session no longer accepts captures or commits."""

    code = "session_closed"


class TooManyAttempts(EnrollmentError):
    """A position already has its maximum number of capture attempts."""

    code = "too_many_attempts"


class NothingToCommit(EnrollmentError):
    """The session lacks what the collection policy needs (e.g. a face that passed the gate)."""

    code = "incomplete_enrollment"


class IdempotencyMismatch(EnrollmentError):
    """An Idempotency-Key was reused for a different request."""

    code = "idempotency_key_reused"


class PdfFontMissing(EnrollmentError):
    """No font that can print Chinese is installed for PDF export."""

    code = "pdf_font_missing"


class SessionExpired(EnrollmentError):
    """The session was left open longer than the enrolment session lifetime and was closed."""

    code = "session_expired"
