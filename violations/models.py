"""Violation and rectification records, in the categories of the campaign statistics table.

Each category carries the table column it is counted in (`../shared/STATISTICS_TABLE.md`):
columns 8-16 count violations found, 17-22 the enforcement and rectification that followed.
Columns 11 and 13 are not categories of their own: they are the property-management-company
subset of 10 and 12, read from the organisation's type when the table is built.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.models import Base, _enum, utcnow


class ViolationCategory(StrEnum):
    """What was found; ``impersonation`` counts (column 15) only once a supervisor confirmed it."""

    unlicensed_service = "unlicensed_service"  # 8 未经许可从事保安服务
    disguised_service = "disguised_service"  # 9 挂靠、承包、委托、加盟、劳务派遣
    unfiled_unit = "unfiled_unit"  # 10 自招保安员单位未备案
    outside_premises = "outside_premises"  # 12 自招保安员单位对外提供保安服务
    unqualified_company = "unqualified_company"  # 14 雇佣无资质公司从事保安服务
    unqualified_person = "unqualified_person"  # 15 雇佣不符合规定人员从事保安服务
    uniform = "uniform"  # 16 发现不按规定着保安服
    # A person working on another's certificate, confirmed by a supervisor after a spot
    # check's biometrics failed every recapture (inspection/mismatches.py).
    impersonation = "impersonation"


# Statistics-table column each category is counted in. An impersonator is a person "not
# meeting the legal conditions" (column 15: they hold no certificate of their own); it is
# counted only when confirmed (reporting/campaign.py), never while open.
VIOLATION_COLUMN: dict[ViolationCategory, int] = {
    ViolationCategory.unlicensed_service: 8,
    ViolationCategory.disguised_service: 9,
    ViolationCategory.unfiled_unit: 10,
    ViolationCategory.outside_premises: 12,
    ViolationCategory.unqualified_company: 14,
    ViolationCategory.unqualified_person: 15,
    ViolationCategory.uniform: 16,
    ViolationCategory.impersonation: 15,
}
# Counted per organisation (起 = cases) or per person (人).
PERSON_CATEGORIES = frozenset({ViolationCategory.unqualified_person, ViolationCategory.uniform,
                               ViolationCategory.impersonation})
# Categories that count only once a reviewer confirmed them (not while open).
CONFIRMED_ONLY = frozenset({ViolationCategory.impersonation})


class RectificationAction(StrEnum):
    """Enforcement and rectification actions, columns 17-22."""

    illegal_org_closed = "illegal_org_closed"  # 17 清理非法保安组织 (个)
    property_contract = "property_contract"  # 18 与物业公司签订含保安服务的物业服务合同 (人)
    security_contract = "security_contract"  # 19 与保安公司签订保安服务合同 (人)
    certificate_obtained = "certificate_obtained"  # 20 经督促已办理保安员证 (人)
    unit_filed = "unit_filed"  # 21 经督促已办理自招单位备案 (家)
    imitation_uniform_cleared = "imitation_uniform_cleared"  # 22 清整仿警服/特勤字样 (人)


RECTIFICATION_COLUMN: dict[RectificationAction, int] = {
    RectificationAction.illegal_org_closed: 17,
    RectificationAction.property_contract: 18,
    RectificationAction.security_contract: 19,
    RectificationAction.certificate_obtained: 20,
    RectificationAction.unit_filed: 21,
    RectificationAction.imitation_uniform_cleared: 22,
}


class ViolationSource(StrEnum):
    """Entered by an inspector, or derived by guardid from a failed spot check."""

    manual = "manual"
    derived = "derived"


class ViolationStatus(StrEnum):
    """Open until reviewed; dismissed records are kept but not counted."""

    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


class Violation(Base):
    """One violation found, with where, when, by whom, and the evidence."""

    __tablename__ = "violations"
    __table_args__ = (Index("ix_violations_district_found", "district", "found_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[ViolationCategory] = mapped_column(_enum(ViolationCategory), index=True)
    source: Mapped[ViolationSource] = mapped_column(_enum(ViolationSource))
    status: Mapped[ViolationStatus] = mapped_column(_enum(ViolationStatus),
                                                   default=ViolationStatus.open)
    district: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    guard_id: Mapped[int | None] = mapped_column(ForeignKey("guards.id"), index=True)
    persons: Mapped[int] = mapped_column(Integer, default=1)  # for per-person categories
    check_id: Mapped[int | None] = mapped_column(Integer, index=True)  # spot check behind it
    site: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    evidence_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted photo
    found_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Rectification(Base):
    """One enforcement or rectification action (columns 17-22), optionally closing a violation."""

    __tablename__ = "rectifications"
    __table_args__ = (Index("ix_rectifications_district_at", "district", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[RectificationAction] = mapped_column(_enum(RectificationAction), index=True)
    district: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    guard_id: Mapped[int | None] = mapped_column(ForeignKey("guards.id"))
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"))
    count: Mapped[int] = mapped_column(Integer, default=1)  # persons or units, per column
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
