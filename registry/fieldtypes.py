"""Bounded input types shared by every router and schema: ids, counts, districts, datetimes.

Each input class gets its own validation here, so a value the database cannot hold is a 422
with the field named, never an OverflowError or an IntegrityError deep in a query.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, StringConstraints

# The largest value an INTEGER column holds on both databases (PostgreSQL's INTEGER is 32-bit;
# SQLite's is 64-bit): every id and stored count is bounded by the smaller of the two.
DB_INT_MAX = 2**31 - 1
# Longest district name a column holds (String(64) on guards, organisations, checks, ...).
DISTRICT_MAX_LENGTH = 64
# A district is a name: no control characters (tabs, newlines, NUL) and not blank once trimmed.
DISTRICT_PATTERN = r"^[^\x00-\x1f\x7f]+$"

# A row id in a path, a query or a body: 1 .. DB_INT_MAX.
DbId = Annotated[int, Ge(1), Le(DB_INT_MAX)]
# A non-negative integer stored in or compared with an INTEGER column (a sequence, an offset).
DbCount = Annotated[int, Ge(0), Le(DB_INT_MAX)]
# A district name as written to a guard, organisation, violation, exam or key.
District = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=DISTRICT_MAX_LENGTH,
                                            pattern=DISTRICT_PATTERN)]


def naive_utc(value: dt.datetime) -> dt.datetime:
    """Return an aware datetime as the naive UTC value every table stores."""
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def mark_utc(value: dt.datetime) -> dt.datetime:
    """Return a stored (naive UTC) datetime marked as UTC, so it serialises with its offset."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


# A datetime a client sends: it must carry its offset (a naive time is ambiguous: refused).
AwareInput = Annotated[AwareDatetime, AfterValidator(naive_utc)]
# A datetime the API returns: stored as naive UTC, shown as RFC 3339 with "+00:00".
UtcOutput = Annotated[dt.datetime, AfterValidator(mark_utc)]
