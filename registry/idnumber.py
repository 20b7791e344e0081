"""Chinese resident ID numbers (GB 11643-1999): validation, derived fields, masking."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from registry import canonical
from registry.exceptions import InvalidIdNumber

# ISO 7064 MOD 11-2 weights for the first 17 digits, and the check character per remainder.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# ASCII only: ``\d`` would also take Arabic-Indic or Devanagari digits, a second spelling.
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_EARLIEST_BIRTH = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class IdNumber:
    """A validated 18-character ID number and what it encodes."""

    value: str
    birth_date: dt.date
    male: bool

    @property
    def masked(self) -> str:
        """Return the number with the birth date and sequence hidden (6 + 8 stars + 4)."""
        return mask(self.value)


def check_character(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def parse(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate ``raw`` in its canonical form (``registry.canonical``) and return it parsed.

    Raise InvalidIdNumber with a reason.
    """
    value = canonical.id_number(raw)
    if len(value) != 18:
        raise InvalidIdNumber(f"an ID number has 18 characters, got {len(value)}", reason="length")
    if not _SHAPE.match(value):
        raise InvalidIdNumber(
            "an ID number is 17 digits and a digit or X", reason="characters"
        )
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("the birth date in the ID number is not a date",
                              reason="date") from None
    today = today or dt.date.today()
    if not (_EARLIEST_BIRTH <= birth <= today):
        raise InvalidIdNumber("the birth date in the ID number is out of range", reason="date")
    if check_character(value[:17]) != value[17]:
        raise InvalidIdNumber("the ID number's check digit is wrong", reason="check_digit")
    return IdNumber(value=value, birth_date=birth, male=int(value[16]) % 2 == 1)


def mask(value: str) -> str:
    """Return ``value`` masked for display: region code and last four only."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def make(region: str, birth: dt.date, sequence: int, *, male: bool) -> str:
    """Build a valid ID number (used by demo data and tests; never for real people)."""
    seq = sequence % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)
