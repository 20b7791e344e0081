"""Tables of the reporting domain: frozen report snapshots and the dated guard state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.models import Base, utcnow


class ReportSnapshot(Base):
    """A report frozen at a date: its exact bytes, kept immutable once written.

    ``kind`` is ``campaign_weekly`` (the Friday cumulative table) or ``coverage_daily``;
    ``unit`` is a district, or ``*`` for the whole city.
    """

    __tablename__ = "report_snapshots"
    __table_args__ = (UniqueConstraint("kind", "unit", "as_of"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[dt.date] = mapped_column(Date)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# "Open" spans (the state now) end here; reports pick spans with from <= cut < to.
OPEN_END = dt.datetime(9999, 12, 31)


class GuardSpan(Base):
    """A guard's reportable state over one stretch of time, derived from dated history.

    A read model of ``guard_events``, ``biometrics``, approved ``finger_exceptions`` and
    ``certificate_events`` (``reporting.spans`` rebuilds a guard's spans in the transaction
    that changes any of them), so coverage on any day is one scan of this table:
    the spans with ``valid_from <= cut < valid_to``. Never edited by hand.
    """

    __tablename__ = "guard_spans"
    # Keyed (and on SQLite stored, WITHOUT ROWID) in order of valid_to: the spans covering a
    # recent day, today's above all, are one short range at the end of the table.
    __table_args__ = (PrimaryKeyConstraint("valid_to", "guard_id"),
                      {"sqlite_with_rowid": False})
    valid_to: Mapped[dt.datetime] = mapped_column(DateTime)  # OPEN_END while current
    guard_id: Mapped[int] = mapped_column(Integer, index=True)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime)
    duty_status: Mapped[str | None] = mapped_column(String(32))
    employer_id: Mapped[int | None] = mapped_column(Integer)
    district: Mapped[str | None] = mapped_column(String(64))
    post_site: Mapped[str | None] = mapped_column(String(200))
    on_duty_since: Mapped[dt.datetime | None] = mapped_column(DateTime)  # latest on_duty event
    face_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # first face on file
    fingers: Mapped[int] = mapped_column(Integer)  # finger positions captured
    fingers_exc: Mapped[int] = mapped_column(Integer)  # ... plus approved exceptions
    certificate: Mapped[int | None] = mapped_column(Integer)  # best rank: 0 valid 1 susp. 2 rev.
