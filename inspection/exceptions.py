"""Inspection errors: certificate tokens, spot-check requests and signing keys."""

from __future__ import annotations

from matching.exceptions import GuardidError


class InspectionError(GuardidError):
    """A spot check or e-certificate operation failed."""

    code = "inspection_error"


class CertificateTokenError(InspectionError):
    """A presented e-certificate token is malformed (not merely invalid: that is an outcome)."""

    code = "certificate_token_malformed"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, details={"reason": reason})
        self.reason = reason


class NoProbe(InspectionError):
    """A check needs a face photo, a fingerprint, or both."""

    code = "no_probe"


class NoDocument(InspectionError):
    """A 1:1 verification needs a certificate number or a scanned e-certificate."""

    code = "no_document"


class RecaptureRefused(InspectionError):
    """A recapture cannot continue its mismatch case (closed, expired, or another document)."""

    code = "recapture_refused"
