"""The clean-up campaign statistics table (../shared/STATISTICS_TABLE.md), all 23 columns,
cumulative from the campaign start to the report date, with the records behind every cell.

How guardid fills the columns it has no direct record of: guardid registers employers, not
the client sites that use them, so columns 1-5 count employers of guards in the unit by
type (1: all employers with guards; 2: self-recruiting units; 3: licensed security
companies; 4: property-management companies; 5: unqualified firms such as labour or cleaning
companies). Column 23 says so in the table itself.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inspection.mismatches import pending_as_of
from registry.models import OrgType
from reporting import state as st
from violations.models import (
    CONFIRMED_ONLY,
    PERSON_CATEGORIES,
    RECTIFICATION_COLUMN,
    VIOLATION_COLUMN,
    Rectification,
    Violation,
    ViolationStatus,
)

GROUPS = [("辖区摸底情况", range(1, 8)), ("发现违法违规行为情况", range(8, 17)),
          ("查处整顿情况", range(17, 23)), ("", range(23, 24))]
COLUMNS: dict[int, tuple[str, str]] = {
    1: ("使用保安单位", "家"), 2: ("自招保安单位", "家"),
    3: ("雇佣保安公司从事保安服务", "家"), 4: ("雇佣物业公司从事保安服务", "家"),
    5: ("由劳务公司、保洁公司等无资格单位雇佣保安员", "家"), 6: ("保安员", "人"),
    7: ("持保安员证", "人"), 8: ("未经许可从事保安服务", "起"),
    9: ("挂靠、承包、委托、加盟、劳务派遣", "起"), 10: ("自招保安员单位未备案", "起"),
    11: ("其中：物业服务企业", "起"), 12: ("自招保安员单位对外提供保安服务", "起"),
    13: ("其中：物业服务企业", "起"), 14: ("雇佣无资质公司从事保安服务", "起"),
    15: ("雇佣不符合规定人员从事保安服务", "人"), 16: ("发现不按规定着保安服", "人"),
    17: ("清理非法保安组织", "个"),
    18: ("经整改与物业公司签订含有保安服务的物业服务合同", "人"),
    19: ("经整改与保安公司签订保安服务合同", "人"), 20: ("经督促已办理保安员证", "人"),
    21: ("经督促已办理自招单位备案", "家"),
    22: ("清整穿着仿警服或使用\"特勤\"\"特别勤务\"字样", "人"), 23: ("备注", ""),
}
# Column 23 (备注) is left for the filing unit: columns 1-5 count the employers of the
# unit's guards by type (guardid registers employers, not the clients they serve).
CITY_LABEL = "全市"  # how a table frozen before units had names ("*") prints its unit


def unit_label(report: dict) -> str:
    """Return the reporting unit's printed name of a report (older ones say ``*``)."""
    return CITY_LABEL if report["unit"] == "*" else report["unit"]


def minute(value) -> str:  # noqa: ANN001
    """Return a timestamp as people read it: ``YYYY-MM-DD HH:MM`` (no seconds, no offset)."""
    if value is None:
        return ""
    return str(value)[:16].replace("T", " ")
TYPE_COLUMN = {OrgType.self_recruiting: 2, OrgType.security_company: 3,
               OrgType.property_management: 4, OrgType.unqualified: 5}
SUBSET_OF = {11: 10, 13: 12}  # property-management companies among columns 10 and 12


# Guards employed at the cut (on or off duty; not those who left), with their employer and
# best certificate. Sorted into guard order in Python (the records behind columns 1-7 are
# listed in that order): an ORDER BY would steer SQLite onto the guard_id index.
_EMPLOYED_SQL = """
SELECT guard_id, employer_id, certificate FROM guard_spans
WHERE duty_status IN ('on_duty', 'off_duty') AND """ + st.SPAN_AT + """{unit}
"""


def _survey(db_session: Session, unit: str | None, day: dt.date, orgs: dict,
            refs: dict) -> None:
    """Columns 1-7 from the registry as it stood at the report date."""
    seen: set[int] = set()
    col6, col7 = refs[6], refs[7]
    for gid, employer, cert in sorted(st.rows(
            db_session.connection(), _EMPLOYED_SQL.format(unit=st.unit_filter(unit)),
            {"cut": st.end_of(day), "unit": unit})):
        col6.append(("guard", gid))
        if cert is not None and int(cert) == 0:  # rank 0: a valid certificate
            col7.append(("guard", gid))
        if employer not in seen:
            seen.add(employer)
            org = orgs.get(employer)
            if org is not None:
                refs[1].append(("organisation", org.id))
                refs[TYPE_COLUMN[org.org_type]].append(("organisation", org.id))


def _found(db_session: Session, unit: str | None, start: dt.datetime, cut: dt.datetime,
           orgs: dict, refs: dict, weights: dict) -> None:
    """Columns 8-16 from violation records in the period (dismissed ones excluded, and an
    impersonation only once a supervisor confirmed it, by the cut)."""
    confirmed = (Violation.status == ViolationStatus.confirmed) & (Violation.decided_at <= cut)
    query = select(Violation.id, Violation.category, Violation.persons,
                   Violation.organisation_id).where(
        Violation.found_at >= start, Violation.found_at <= cut,
        Violation.status != ViolationStatus.dismissed,
        or_(Violation.category.not_in(CONFIRMED_ONLY), confirmed))
    if unit:
        query = query.where(Violation.district == unit)
    for vid, category, persons, org_id in db_session.execute(query.order_by(Violation.id)):
        column = VIOLATION_COLUMN[category]
        refs[column].append(("violation", vid))
        weights[("violation", vid)] = persons if category in PERSON_CATEGORIES else 1
        org = orgs.get(org_id)
        for sub, parent in SUBSET_OF.items():
            if parent == column and org is not None and \
                    org.org_type == OrgType.property_management:
                refs[sub].append(("violation", vid))


def _rectified(db_session: Session, unit: str | None, start: dt.datetime, cut: dt.datetime,
               refs: dict, weights: dict) -> None:
    """Columns 17-22 from rectification records in the period."""
    query = select(Rectification.id, Rectification.action, Rectification.count).where(
        Rectification.at >= start, Rectification.at <= cut)
    if unit:
        query = query.where(Rectification.district == unit)
    for rid, action, count in db_session.execute(query.order_by(Rectification.id)):
        refs[RECTIFICATION_COLUMN[action]].append(("rectification", rid))
        weights[("rectification", rid)] = count


def table(db_session: Session, *, day: dt.date, unit: str | None, start: dt.date,
          unit_name: str | None = None) -> dict:
    """Return the table for a unit (a district, None for the city), cumulative from
    ``start`` to the end of ``day``; ``unit_name`` is the reporting unit's printed name."""
    orgs = st.organisations(db_session)
    refs: dict[int, list[tuple[str, int]]] = defaultdict(list)
    weights: dict[tuple[str, int], int] = {}
    _survey(db_session, unit, day, orgs, refs)
    begin, cut = dt.datetime.combine(start, dt.time.min), st.end_of(day)
    _found(db_session, unit, begin, cut, orgs, refs, weights)
    _rectified(db_session, unit, begin, cut, refs, weights)
    # Guards and organisations count one each; violations and rectifications by weight.
    cells = {n: sum(weights.get(r, 1) for r in refs[n]) if n > 7 else len(refs[n])
             for n in range(1, 23)}
    # Beside the table, never in its 23 columns: suspected mismatches still waiting for a
    # supervisor at the cut (they count in column 15 only once confirmed).
    pending = pending_as_of(db_session, unit=unit, start=begin, cut=cut)
    return {"unit": unit_name or unit or "*", "district": unit,
            "period": {"from": start.isoformat(), "to": day.isoformat()},
            "pending_suspected_mismatches": {"count": len(pending), "cases": pending},
            "columns": [{"number": n, "header": h, "unit": u} for n, (h, u) in COLUMNS.items()],
            "cells": {**{str(n): v for n, v in cells.items()}, "23": ""},
            "records": {str(n): [{"type": t, "id": i} for t, i in refs[n]]
                        for n in range(1, 23)}}
