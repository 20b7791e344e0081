"""Tables of enrolled biometrics: one row per face or finger template, and the change feed.

These rows are the truth behind the 100% collection target: reporting counts them (as of any
date, by ``captured_at``) and the galleries are rebuilt from them. Only ``biometrics.writer``
and ``biometrics.reextract`` change them; only ``biometrics.feed`` writes ``template_changes``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.models import Base, _enum, utcnow

# ISO/IEC 19794-2 finger positions: 1 right thumb .. 5 right little, 6 left thumb .. 10 left
# little; 2 and 7 are the index fingers the collection normally takes. 0 marks a face.
FACE_POSITION = 0
FINGER_POSITIONS = range(1, 11)


class Modality(StrEnum):
    """Which biometric a record holds."""

    face = "face"
    finger = "finger"


class Biometric(Base):
    """One collected face or finger: encrypted template and image, quality, provenance."""

    __tablename__ = "biometrics"
    __table_args__ = (Index("ix_biometrics_guard_modality", "guard_id", "modality", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guard_id: Mapped[int] = mapped_column(ForeignKey("guards.id"))
    modality: Mapped[Modality] = mapped_column(_enum(Modality))
    position: Mapped[int] = mapped_column(Integer)  # FACE_POSITION or an ISO finger position
    template_enc: Mapped[bytes] = mapped_column(LargeBinary)
    image_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float)
    model_id: Mapped[str] = mapped_column(String(64))
    enrollment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    station: Mapped[str | None] = mapped_column(String(64))  # API key id of the station
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class TemplateChange(Base):
    """The gallery's change feed, written and read only through ``biometrics.feed``."""

    __tablename__ = "template_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    biometric_id: Mapped[int] = mapped_column(ForeignKey("biometrics.id"))
    op: Mapped[str] = mapped_column(String(8))  # feed.ChangeOp: add | remove
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # PostgreSQL: the writing transaction (pg_current_xact_id(), a column default), so a
    # reader can tell a change that may still be uncommitted; NULL on SQLite (one writer).
    xid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue(),
                                            index=True)


class IndexCursor(Base):
    """How far an external gallery index (the Milvus indexer) has applied the change feed:
    a ``feed.Cursor`` kept in the database, so a crashed indexer resumes where it stopped."""

    __tablename__ = "gallery_index_cursors"
    backend: Mapped[str] = mapped_column(String(32), primary_key=True)
    modality: Mapped[Modality] = mapped_column(_enum(Modality), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    horizon: Mapped[int | None] = mapped_column(BigInteger)
    applied: Mapped[str] = mapped_column(String, default="[]")  # JSON list of seqs
    # The newest Milvus timestamp of the writes this cursor covers (searches wait for it).
    written_ts: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
