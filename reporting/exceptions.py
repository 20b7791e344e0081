"""Reporting errors."""

from __future__ import annotations

from matching.exceptions import GuardidError


class ReportingError(GuardidError):
    """A report could not be produced."""

    code = "reporting_error"


class UnknownColumn(ReportingError):
    """A campaign-table column that does not exist (1-23)."""

    code = "unknown_column"


class DayNotEnded(ReportingError):
    """A daily snapshot asked for a day that has not ended yet (its figures still change)."""

    code = "day_not_ended"


class BadRange(ReportingError):
    """A date range that ends before it starts."""

    code = "bad_range"


class UnsupportedLanguage(ReportingError):
    """An export language other than zh (the default) or en."""

    code = "unsupported_language"
