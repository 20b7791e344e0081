"""Guards: registration, lookup (also by ID number), listing, updates, bulk import."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile

from api.deps import (
    Admin,
    Limit,
    Offset,
    RegistryReader,
    RegistryWriter,
    SessionDep,
    SettingsDep,
    VaultDep,
)
from api.uploads import read_upload
from registry import guards, importer
from registry.fieldtypes import DbId
from registry.models import CertificateStatus, DutyStatus
from registry.schemas import (
    GuardFound,
    GuardIn,
    GuardOut,
    GuardPatch,
    GuardSearch,
    ImportReport,
    Page,
)

router = APIRouter(prefix="/guards", tags=["guards"])


@router.post("", status_code=201, response_model=GuardOut)
def create_guard(body: GuardIn, session: SessionDep, vault: VaultDep, actor: RegistryWriter):
    """Register a guard (ID number validated, stored encrypted, shown masked)."""
    guard = guards.create(db_session=session, vault=vault, actor=actor, data=body)
    return guards.to_out(session, vault, guard)


@router.get("", response_model=Page[GuardOut])
def list_guards(session: SessionDep, vault: VaultDep, actor: RegistryReader,
                district: str | None = None, employer_id: DbId | None = None,
                duty_status: DutyStatus | None = None,
                certificate_status: CertificateStatus | None = None,
                id_number: str | None = None, offset: Offset = 0, limit: Limit = 50):
    """List guards with filters; ``id_number`` finds one guard by its keyed hash."""
    filters = guards.GuardFilters(district=district, employer_id=employer_id,
                                  duty_status=duty_status, certificate_status=certificate_status,
                                  id_number=id_number)
    items, total = guards.list_page(db_session=session, vault=vault, actor=actor,
                                    filters=filters, offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.post("/search", response_model=Page[GuardFound])
def search_guards(body: GuardSearch, session: SessionDep, vault: VaultDep,
                  actor: RegistryReader):
    """Find guards by part of the name, certificate number or ID number (sent in the body,
    compared by keyed hash); the key's district only."""
    items, total = guards.search(db_session=session, vault=vault, actor=actor, terms=body)
    return Page(items=items, total=total, offset=body.offset, limit=body.limit)


@router.get("/{guard_id}", response_model=GuardOut)
def get_guard(guard_id: DbId, session: SessionDep, vault: VaultDep, actor: RegistryReader):
    """Return one guard (the read is audited)."""
    return guards.read(db_session=session, vault=vault, actor=actor, guard_id=guard_id)


@router.patch("/{guard_id}", response_model=GuardOut)
def update_guard(guard_id: DbId, body: GuardPatch, session: SessionDep, vault: VaultDep,
                 actor: Admin):
    """Change a guard's employer, post, duty status, background check or level."""
    return guards.update(db_session=session, vault=vault, actor=actor, guard_id=guard_id,
                         patch=body)


@router.post("/import", response_model=ImportReport)
def import_guards(file: UploadFile, session: SessionDep, vault: VaultDep, actor: Admin,
                  settings: SettingsDep):
    """Import guards from CSV or XLSX; the report lists every refused row."""
    content = read_upload(file, settings.max_upload_bytes)
    return importer.import_guards(db_session=session, vault=vault, actor=actor, content=content,
                                  max_rows=settings.max_import_rows)
