"""Registry errors: lookups, validation, conflicts, authentication and configuration."""

from __future__ import annotations

from matching.exceptions import GuardidError


class RegistryError(GuardidError):
    """A registry operation failed."""

    code = "registry_error"


class NotFound(RegistryError):
    """The referenced record does not exist (or is outside the caller's scope)."""

    code = "not_found"


class Conflict(RegistryError):
    """The write conflicts with an existing record (e.g. a duplicate ID number)."""

    code = "conflict"


class ValidationFailed(RegistryError):
    """A value is well-formed JSON but breaks a domain rule."""

    code = "validation_failed"


class InvalidIdNumber(ValidationFailed):
    """A national ID number fails GB 11643 validation; ``reason`` says which rule."""

    code = "invalid_id_number"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, details={"reason": reason})
        self.reason = reason


class InvalidCertificateNumber(ValidationFailed):
    """A certificate number has characters or a length no certificate number has."""

    code = "invalid_certificate_number"


class InvalidLicenceNumber(ValidationFailed):
    """A licence (or filing) number carries invisible characters or is too long."""

    code = "invalid_licence_number"


class RegisteredElsewhere(Conflict):
    """The ID number is held by a guard outside the caller's district (who and where untold)."""

    code = "id_number_registered_elsewhere"

    def __init__(self, message: str, *, holder_id: int, district: str):
        super().__init__(message)
        # For the city-level referral only; never part of the response body.
        self.holder_id, self.district = holder_id, district


class InvalidTransition(RegistryError):
    """A status change that the lifecycle does not allow (e.g. reinstating a revoked cert)."""

    code = "invalid_transition"


class Unauthenticated(RegistryError):
    """No API key, or an unknown or revoked one."""

    code = "unauthenticated"


class Forbidden(RegistryError):
    """The key's role or district does not reach this resource."""

    code = "forbidden"


class ConfigurationError(RegistryError):
    """The service is configured unsafely or inconsistently (refused at start)."""

    code = "configuration_error"


class CryptoError(RegistryError):
    """Ciphertext cannot be decrypted: wrong key, unknown key id or tampered data."""

    code = "crypto_error"


class ImportFileError(RegistryError):
    """A bulk-import file cannot be read as CSV or XLSX at all."""

    code = "import_file_invalid"


class PayloadTooLarge(RegistryError):
    """An uploaded file is over its size limit."""

    code = "payload_too_large"


class AuthThrottled(RegistryError):
    """Too many failed authentications for this key id or client address: wait and retry."""

    code = "too_many_auth_failures"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, details={"retry_after_s": retry_after})
        self.retry_after = retry_after
