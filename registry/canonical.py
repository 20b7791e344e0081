"""Canonical forms of the identifiers looked up by value: ID, certificate and licence numbers.

One person has one ID number, so two spellings of it must be one value before it is
validated, hashed or stored. Each identifier is first normalised with Unicode NFKC
(full-width ``１２Ｘ`` and ideographic spaces become ``12X`` and spaces), then held to its
format's alphabet: ID and certificate numbers are ASCII only, so lookalike digits that
NFKC leaves alone (Arabic-Indic ``١``, Devanagari ``१``) are refused, never folded into a
second spelling. Letters are upper-cased. A value that cannot be made canonical raises a
``ValidationFailed`` with its own stable code.
"""

from __future__ import annotations

import re
import unicodedata

from registry.exceptions import InvalidCertificateNumber, InvalidIdNumber, InvalidLicenceNumber

# GB 11643: 17 digits and a check character; only ASCII digits and X once normalised.
_ID_ALPHABET = re.compile(r"^[0-9X]*$")
# Certificate numbers are issued as ASCII letters, digits and hyphens (e.g. JBZ0000001).
_CERT_SHAPE = re.compile(r"^[0-9A-Z-]+$")
CERT_MIN_LEN, CERT_MAX_LEN = 4, 64
LICENCE_MAX_LEN = 64
# Dashes NFKC keeps distinct from "-" that people paste from documents and word processors.
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe58"})


def _nfkc(raw: str | None) -> str:
    """Return ``raw`` in Unicode NFKC (``None`` reads as empty)."""
    return unicodedata.normalize("NFKC", raw or "")


def _has_invisible(value: str) -> bool:
    """True when ``value`` holds control, format (zero-width) or unassigned characters."""
    return any(unicodedata.category(c)[0] == "C" for c in value)


def id_number(raw: str | None) -> str:
    """Return the canonical spelling of an ID number: NFKC, no whitespace, ASCII 0-9 and X.

    Only the alphabet is checked here; :func:`registry.idnumber.parse` checks the rest.
    """
    value = "".join(_nfkc(raw).split()).upper()
    if not _ID_ALPHABET.match(value):
        raise InvalidIdNumber("an ID number is 17 ASCII digits and a digit or X",
                              reason="characters")
    return value


def certificate_number(raw: str | None) -> str:
    """Return the canonical certificate number: NFKC, trimmed, upper-case ASCII and hyphens."""
    value = _nfkc(raw).strip().translate(_DASHES).upper()
    if not (CERT_MIN_LEN <= len(value) <= CERT_MAX_LEN) or not _CERT_SHAPE.match(value):
        raise InvalidCertificateNumber(
            f"a certificate number is {CERT_MIN_LEN}-{CERT_MAX_LEN} ASCII letters, digits "
            "and hyphens")
    return value


def licence_number(raw: str | None) -> str | None:
    """Return the canonical licence number (NFKC, no whitespace, upper case), None if empty.

    Licence and filing numbers carry Chinese characters and brackets (津公保服许字[2010]002号),
    so the alphabet stays open; invisible characters are refused.
    """
    if raw is None:
        return None
    value = "".join(_nfkc(raw).split()).translate(_DASHES).upper()
    if not value:
        return None
    if len(value) > LICENCE_MAX_LEN or _has_invisible(value):
        raise InvalidLicenceNumber("a licence number has invisible characters or is too long")
    return value
