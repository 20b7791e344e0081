"""Organisations: CRUD and bulk import."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile

from api.deps import Admin, Limit, Offset, RegistryReader, SessionDep, SettingsDep
from api.uploads import read_upload
from registry import importer, organisations
from registry.fieldtypes import DbId
from registry.models import OrgType
from registry.schemas import (
    ImportReport,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    Page,
)

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.post("", status_code=201, response_model=OrganisationOut)
def create_organisation(body: OrganisationIn, session: SessionDep, actor: Admin):
    """Register an organisation."""
    return organisations.create(db_session=session, actor=actor, data=body)


@router.get("", response_model=Page[OrganisationOut])
def list_organisations(session: SessionDep, actor: RegistryReader, district: str | None = None,
                       org_type: OrgType | None = None, offset: Offset = 0, limit: Limit = 50):
    """List organisations, filtered by district and type."""
    items, total = organisations.list_page(db_session=session, actor=actor, district=district,
                                           org_type=org_type, offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/{org_id}", response_model=OrganisationOut)
def get_organisation(org_id: DbId, session: SessionDep, actor: RegistryReader):
    """Return one organisation."""
    return organisations.get(db_session=session, actor=actor, org_id=org_id)


@router.patch("/{org_id}", response_model=OrganisationOut)
def update_organisation(org_id: DbId, body: OrganisationPatch, session: SessionDep, actor: Admin):
    """Change an organisation (licence, credit grade, red/black list)."""
    return organisations.update(db_session=session, actor=actor, org_id=org_id, patch=body)


@router.post("/import", response_model=ImportReport)
def import_organisations(file: UploadFile, session: SessionDep, actor: Admin,
                               settings: SettingsDep):
    """Import organisations from CSV or XLSX; the report lists every refused row."""
    content = read_upload(file, settings.max_upload_bytes)
    return importer.import_organisations(db_session=session, actor=actor, content=content,
                                         max_rows=settings.max_import_rows)
