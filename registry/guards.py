"""Guards: registration with an encrypted ID number, lookups, listing, dated history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import audit, canonical, idnumber, paging, policy
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Conflict, NotFound, RegisteredElsewhere, ValidationFailed
from registry.models import (
    Certificate,
    CertificateStatus,
    DutyStatus,
    Gender,
    Guard,
    GuardEvent,
    Organisation,
)
from registry.schemas import GuardFound, GuardIn, GuardOut, GuardPatch, GuardSearch

ID_PURPOSE = "guard.id_number"
# Fields whose changes are kept as dated history (coverage "as of" a past date needs them).
HISTORY_FIELDS = ("duty_status", "employer_id", "post_site", "district")
# Audit action of a registration refused because another district holds the ID number;
# unscoped auditors list these (GET /audit?action=guard.registration_referred).
REFERRAL_ACTION = "guard.registration_referred"


@dataclass(frozen=True)
class GuardFilters:
    """Listing filters; each is optional."""

    district: str | None = None
    employer_id: int | None = None
    duty_status: DutyStatus | None = None
    certificate_status: CertificateStatus | None = None
    id_number: str | None = None


def id_hash(vault: Vault, raw: str) -> str:
    """Return the keyed hash under which the (validated) ID number is searchable."""
    return vault.keyring.keyed_hash(idnumber.parse(raw).value, purpose=ID_PURPOSE)


def _history(db_session: Session, guard: Guard, fields: dict, actor: Actor) -> None:
    for key in HISTORY_FIELDS:
        if key in fields:
            value = fields[key]
            db_session.add(GuardEvent(guard_id=guard.id, kind=key, actor=actor.key_id,
                                      value=None if value is None else str(value)))


def _employer(db_session: Session, actor: Actor, employer_id: int | None) -> Organisation | None:
    if employer_id is None:
        return None
    org = db_session.get(Organisation, employer_id)
    if org is None or not policy.visible(actor, org.district):  # elsewhere reads as absent
        raise ValidationFailed(f"employer {employer_id} does not exist", code="unknown_employer")
    return org


def create(*, db_session: Session, vault: Vault, actor: Actor, data: GuardIn,
           commit: bool = True) -> Guard:
    """Register a guard; raise Conflict when the ID number is already registered."""
    parsed = idnumber.parse(data.id_number)
    employer = _employer(db_session, actor, data.employer_id)
    district = data.district or (employer.district if employer else None)
    if not district:
        raise ValidationFailed("a guard needs a district or an employer", code="district_required")
    policy.require_writable(actor, district)
    hashed = vault.keyring.keyed_hash(parsed.value, purpose=ID_PURPOSE)
    holder = db_session.execute(select(Guard.id, Guard.district)
                                .where(Guard.id_hash == hashed)).first()
    if holder is not None:
        _refuse_registered(db_session, actor, holder.id, holder.district, district, commit)
    fields = data.model_dump(exclude={"id_number"})
    fields["district"] = district
    guard = Guard(**fields, id_hash=hashed,
                  id_enc=vault.encrypt(db_session, parsed.value.encode(), purpose=ID_PURPOSE),
                  gender=Gender.male if parsed.male else Gender.female,
                  birth_date=parsed.birth_date)
    db_session.add(guard)
    try:
        db_session.flush()
    except IntegrityError as exc:  # lost a race with a concurrent registration
        raise Conflict("a guard with this ID number is already registered") from exc
    _history(db_session, guard, fields, actor)
    audit.record(db_session, actor, "guard.create", resource_type="guard", resource_id=guard.id,
                 district=guard.district)
    if commit:
        db_session.commit()
    return guard


def _refuse_registered(db_session: Session, actor: Actor, holder_id: int, holder_district: str,
                       district: str, commit: bool) -> None:
    """Raise Conflict, or RegisteredElsewhere (referred when ``commit``) across districts."""
    if actor.district is None or holder_district == actor.district:
        raise Conflict("a guard with this ID number is already registered")
    exc = RegisteredElsewhere(
        "this ID number cannot be registered from this district; the case was referred to "
        "the city level", holder_id=holder_id, district=district)
    if commit:
        refer(db_session, actor, exc)
        db_session.commit()
    raise exc


def refer(db_session: Session, actor: Actor, exc: RegisteredElsewhere) -> None:
    """Record (uncommitted) a city-level referral: a district registering another's guard."""
    audit.record(db_session, actor, REFERRAL_ACTION, resource_type="guard",
                 resource_id=exc.holder_id, detail={"requested_district": exc.district})


def get(*, db_session: Session, actor: Actor, guard_id: int) -> Guard:
    """Return guard ``guard_id``; raise NotFound when absent or out of the key's district."""
    guard = db_session.get(Guard, guard_id)
    if guard is None:
        raise NotFound(f"guard {guard_id} not found")
    policy.require_visible(actor, guard.district, missing=f"guard {guard_id} not found")
    return guard


def who(db_session: Session, guard_ids: list[int]) -> dict[int, dict]:
    """Return {guard id: name, employer's name, district, post} for the people a case shows
    beside its evidence (the caller has already checked and audited the case's reach)."""
    ids = {g for g in guard_ids if g is not None}
    if not ids:
        return {}
    rows = db_session.execute(
        select(Guard.id, Guard.name, Organisation.name, Guard.district, Guard.post_site)
        .outerjoin(Organisation, Organisation.id == Guard.employer_id)
        .where(Guard.id.in_(ids))).all()
    return {gid: {"guard_id": gid, "name": name, "employer": employer, "district": district,
                  "post_site": post} for gid, name, employer, district, post in rows}


def to_out(db_session: Session, vault: Vault, guard: Guard) -> GuardOut:
    """Return the API view of ``guard`` with the ID number masked."""
    plain = vault.decrypt(db_session, guard.id_enc, purpose=ID_PURPOSE).decode()
    return GuardOut(
        id=guard.id, name=guard.name, id_number_masked=idnumber.mask(plain), gender=guard.gender,
        birth_date=guard.birth_date, employer_id=guard.employer_id, district=guard.district,
        post_site=guard.post_site, duty_status=guard.duty_status,
        background_check=guard.background_check, skill_level=guard.skill_level,
    )


def read(*, db_session: Session, vault: Vault, actor: Actor, guard_id: int) -> GuardOut:
    """Return one guard for display, recording the read of personal data."""
    guard = get(db_session=db_session, actor=actor, guard_id=guard_id)
    out = to_out(db_session, vault, guard)
    audit.record(db_session, actor, "guard.read", resource_type="guard", resource_id=guard_id,
                 district=guard.district)
    db_session.commit()
    return out


def list_page(*, db_session: Session, vault: Vault, actor: Actor, filters: GuardFilters,
              offset: int = 0, limit: int = 50) -> tuple[list[GuardOut], int]:
    """Return one page of guards matching ``filters`` and the total; the read is audited."""
    district = policy.district_filter(actor, filters.district)
    query = policy.scope_query(actor, select(Guard), Guard.district, filters.district)
    if filters.employer_id is not None:
        query = query.where(Guard.employer_id == filters.employer_id)
    if filters.duty_status:
        query = query.where(Guard.duty_status == filters.duty_status)
    if filters.certificate_status:
        query = query.where(Guard.id.in_(
            select(Certificate.guard_id).where(Certificate.status == filters.certificate_status)))
    if filters.id_number:
        query = query.where(Guard.id_hash == id_hash(vault, filters.id_number))
    rows, total = paging.page(db_session, query, Guard.id, offset=offset, limit=limit)
    items = [to_out(db_session, vault, g) for g in rows]
    audit.record(db_session, actor, "guard.list", resource_type="guard",
                 detail={"count": len(items), "ids": [g.id for g in items],
                         "by_id_number": bool(filters.id_number)},
                 district=policy.entry_district(*(g.district for g in items)) or district)
    db_session.commit()
    return items, int(total)


def search(*, db_session: Session, vault: Vault, actor: Actor,
           terms: GuardSearch) -> tuple[list[GuardFound], int]:
    """Return one page of guards matching every term given, and the total; audited.

    ``name`` matches part of the name; ``certificate_number`` and ``id_number`` are
    canonicalised as registration does, and the ID number is compared by keyed hash only
    (neither it nor the name searched is written anywhere: the audit entry says which kinds
    of term were used and which guards were shown).
    """
    if not (terms.name or terms.certificate_number or terms.id_number):
        raise ValidationFailed("give a name, a certificate number or an ID number",
                               code="search_term_required")
    query = policy.scope_query(actor, select(Guard), Guard.district, terms.district)
    if terms.name:
        query = query.where(Guard.name.contains(terms.name, autoescape=True))
    if terms.certificate_number:
        number = canonical.certificate_number(terms.certificate_number)
        query = query.where(Guard.id.in_(
            select(Certificate.guard_id).where(Certificate.number == number)))
    if terms.id_number:
        query = query.where(Guard.id_hash == id_hash(vault, terms.id_number))
    rows, total = paging.page(db_session, query, Guard.id, offset=terms.offset,
                              limit=terms.limit)
    ids = [g.id for g in rows]
    employers = dict(db_session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({g.employer_id for g in rows if g.employer_id}))).all())
    numbers: dict[int, list[str]] = {}
    for gid, number in db_session.execute(select(Certificate.guard_id, Certificate.number)
                                          .where(Certificate.guard_id.in_(ids))
                                          .order_by(Certificate.id)):
        numbers.setdefault(gid, []).append(number)
    items = [GuardFound(**to_out(db_session, vault, g).model_dump(),
                        employer_name=employers.get(g.employer_id),
                        certificate_numbers=numbers.get(g.id, [])) for g in rows]
    audit.record(db_session, actor, "guard.search", resource_type="guard",
                 detail={"count": len(items), "ids": ids, "by_name": bool(terms.name),
                         "by_certificate_number": bool(terms.certificate_number),
                         "by_id_number": bool(terms.id_number)},
                 district=policy.entry_district(*(g.district for g in rows))
                 or policy.district_filter(actor, terms.district))
    db_session.commit()
    return items, int(total)


def update(*, db_session: Session, vault: Vault, actor: Actor, guard_id: int,
           patch: GuardPatch) -> GuardOut:
    """Apply ``patch`` to a guard, keeping dated history of duty, employer and post."""
    guard = get(db_session=db_session, actor=actor, guard_id=guard_id)
    changes = patch.model_dump(exclude_unset=True)
    if "employer_id" in changes:
        _employer(db_session, actor, changes["employer_id"])
    if "district" in changes:
        policy.require_writable(actor, changes["district"] or "")
    was = guard.district
    changed = {k: v for k, v in changes.items() if getattr(guard, k) != v}
    for key, value in changed.items():
        setattr(guard, key, value)
    db_session.flush()
    _history(db_session, guard, changed, actor)
    audit.record(db_session, actor, "guard.update", resource_type="guard", resource_id=guard.id,
                 detail={"fields": sorted(changed)},
                 district=policy.entry_district(was, guard.district))
    db_session.commit()
    return to_out(db_session, vault, guard)
