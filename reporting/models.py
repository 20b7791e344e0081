"""Tables of the reporting domain: frozen report snapshots."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Integer, String, Text, UniqueConstraint
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
