"""Bulk import of organisations and guards from CSV or XLSX, with a per-row report.

Each row runs in its own savepoint: a bad row is reported and leaves nothing behind,
and never stops the good rows. Headers may be English field names or common Chinese ones.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.exceptions import GuardidError
from registry import canonical, guards, organisations
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import ImportFileError, RegisteredElsewhere, ValidationFailed
from registry.models import Organisation
from registry.schemas import GuardIn, ImportReport, ImportRowError, OrganisationIn

HEADER_ALIASES = {
    "姓名": "name", "名称": "name", "单位名称": "name", "身份证号": "id_number",
    "身份证号码": "id_number", "公民身份号码": "id_number", "单位类型": "org_type",
    "许可证号": "licence_no", "备案号": "licence_no", "许可状态": "licence_status",
    "辖区": "district", "区": "district", "信用等级": "credit_grade", "岗位": "post_site",
    "执勤点": "post_site", "在岗状态": "duty_status", "背景审查": "background_check",
    "等级": "skill_level", "单位许可证号": "employer_licence_no", "用人单位": "employer_licence_no",
}


def read_rows(content: bytes, *, max_rows: int) -> list[dict[str, str]]:
    """Return the data rows of a CSV or XLSX file as dicts keyed by normalised header."""
    if content[:4] == b"PK\x03\x04":
        rows = list(_xlsx_rows(content))
    else:
        rows = list(checked_csv(csv.reader(io.StringIO(_decode(content)))))
    if not rows:
        raise ImportFileError("the file has no header row")
    header = [HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in rows[0]]
    body = [r for r in rows[1:] if any((c or "").strip() for c in r)]
    if len(body) > max_rows:
        raise ImportFileError(f"the file has {len(body)} rows; the limit is {max_rows}",
                              code="import_too_large")
    return [{h: (r[i] if i < len(r) else "").strip() for i, h in enumerate(header) if h}
            for r in body]


def checked_csv(reader: Any) -> Iterator[Any]:
    """Yield a csv reader's rows; a malformed file is an ImportFileError naming the line.

    Python's csv module refuses a field longer than ``csv.field_size_limit()`` (131,072
    characters): no field of a registry or mapping file is near that, so the file is refused
    whole rather than read with a raised limit.
    """
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            code = "csv_field_too_long" if "field limit" in str(exc) else "csv_malformed"
            raise ImportFileError(f"the CSV cannot be read near line {reader.line_num}: {exc}",
                                  code=code) from exc
        yield row


def _decode(content: bytes) -> str:
    # Excel in China saves CSV as GB18030 (GBK) unless told otherwise.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("the CSV is neither UTF-8 nor GB18030 text")


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(f"the XLSX file cannot be read: {exc}") from exc
    for row in wb.worksheets[0].iter_rows(values_only=True):
        yield ["" if c is None else (c.isoformat()[:10] if hasattr(c, "isoformat") else str(c))
               for c in row]


def _import(db_session: Session, rows: list[dict[str, str]], schema: type[BaseModel],
            build: Callable[[dict[str, Any]], dict[str, Any]],
            create: Callable[[BaseModel], Any]) -> ImportReport:
    created: list[int] = []
    errors: list[ImportRowError] = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            with db_session.begin_nested():
                data = schema.model_validate(build({k: v for k, v in row.items() if v != ""}))
                created.append(create(data).id)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            errors.append(ImportRowError(row=number, code="validation_failed",
                                         message=f"{field}: {first['msg']}"))
        except GuardidError as exc:
            errors.append(ImportRowError(row=number, code=exc.code, message=exc.message))
    db_session.commit()
    return ImportReport(total=len(rows), created=len(created), failed=len(errors),
                        created_ids=created, errors=errors)


def import_organisations(*, db_session: Session, actor: Actor, content: bytes,
                         max_rows: int) -> ImportReport:
    """Create an organisation per row; return the per-row report."""
    rows = read_rows(content, max_rows=max_rows)
    return _import(db_session, rows, OrganisationIn, lambda r: r,
                   lambda d: organisations.create(db_session=db_session, actor=actor, data=d,
                                                  commit=False))


def import_guards(*, db_session: Session, vault: Vault, actor: Actor, content: bytes,
                  max_rows: int) -> ImportReport:
    """Create a guard per row (employer by id or licence number); return the report."""
    rows = read_rows(content, max_rows=max_rows)

    def build(row: dict[str, Any]) -> dict[str, Any]:
        licence = canonical.licence_number(row.pop("employer_licence_no", None))
        if licence and "employer_id" not in row:
            org_id = db_session.scalar(
                select(Organisation.id).where(Organisation.licence_no == licence))
            if org_id is None:
                raise ValidationFailed(f"no employer with licence number {licence}",
                                       code="unknown_employer")
            row["employer_id"] = org_id
        return row

    referred: list[RegisteredElsewhere] = []

    def create(data: GuardIn) -> Any:
        try:
            return guards.create(db_session=db_session, vault=vault, actor=actor, data=data,
                                 commit=False)
        except RegisteredElsewhere as exc:  # the row's savepoint is undone; the referral stays
            referred.append(exc)
            raise

    report = _import(db_session, rows, GuardIn, build, create)
    for exc in referred:
        guards.refer(db_session, actor, exc)
    db_session.commit()
    return report
