"""Post-upgrade step: bring stored identifiers to their canonical form, report duplicates.

Before canonicalisation (``registry.canonical``) an ID number typed with full-width or
other Unicode digits was stored and hashed as typed, so one person could hold two guards.
``guardid migrate`` runs :func:`canonicalise_stored` after the schema upgrade (migrations
stay free of application code: this needs the keyring). It is idempotent: each ID number
is decrypted, canonicalised, and re-encrypted and re-hashed only when it differs;
certificate and licence numbers are rewritten likewise. A value whose canonical form
another record already holds is a duplicate: it is left as it is (never merged), listed
in the report, and recorded once in the audit log for a city-level reviewer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matching.exceptions import GuardidError
from registry import audit, canonical
from registry.audit import Actor
from registry.crypto import Vault
from registry.guards import ID_PURPOSE
from registry.models import AuditEntry, Certificate, Guard, Organisation

DUPLICATE_ACTION = "identity.duplicate"
# The audit resource type each identifier belongs to (so district scoping can place it).
RESOURCE = {"id_number": "guard", "certificate_number": "certificate",
            "licence_number": "organisation"}


@dataclass
class Duplicate:
    """Two records that hold one identifier once canonical: ``kept`` has it, ``other`` not."""

    kind: str  # id_number | certificate_number | licence_number
    kept: int
    other: int


@dataclass
class IdentifierReport:
    """What the step changed and what it found that needs a person's decision."""

    rewritten: dict[str, int] = field(default_factory=lambda: {
        "id_number": 0, "certificate_number": 0, "licence_number": 0})
    duplicates: list[Duplicate] = field(default_factory=list)
    invalid: list[tuple[str, int]] = field(default_factory=list)  # (kind, record id)

    def lines(self) -> list[str]:
        """Return the report for people: ids only, never the identifiers themselves."""
        out = [f"canonical identifiers: rewrote {n} {kind}s" for kind, n in self.rewritten.items()]
        out += [f"DUPLICATE {d.kind}: record {d.other} is the same as record {d.kept} "
                "(left unmerged; decide at city level)" for d in self.duplicates]
        out += [f"INVALID {kind}: record {rid} cannot be made canonical" for kind, rid in
                self.invalid]
        return out


def fold_digits(value: str) -> str:
    """Return ``value`` with every Unicode decimal digit written as its ASCII digit.

    Only for data stored before canonicalisation, which ``\\d`` let in (e.g. Arabic-Indic
    digits): it was validated as those digits, so they are what the person's number is.
    """
    return "".join(str(unicodedata.decimal(c)) if not c.isascii()
                   and unicodedata.decimal(c, None) is not None else c for c in value)


def canonicalise_stored(*, db_session: Session, vault: Vault, actor: Actor) -> IdentifierReport:
    """Canonicalise every stored identifier (idempotent) and commit; return the report."""
    report = IdentifierReport()
    _id_numbers(db_session, vault, report)
    _plain(db_session, report, "certificate_number", Certificate, Certificate.number,
           canonical.certificate_number)
    _plain(db_session, report, "licence_number", Organisation, Organisation.licence_no,
           canonical.licence_number)
    _audit_duplicates(db_session, actor, report.duplicates)
    db_session.commit()
    return report


def _id_numbers(db_session: Session, vault: Vault, report: IdentifierReport) -> None:
    """Re-encrypt and re-hash every ID number whose canonical form or hash differs."""
    ring = vault.keyring
    for gid, enc, old_hash in db_session.execute(
            select(Guard.id, Guard.id_enc, Guard.id_hash).order_by(Guard.id)).all():
        plain = vault.decrypt(db_session, enc, purpose=ID_PURPOSE).decode()
        try:
            value = canonical.id_number(fold_digits(plain))
        except GuardidError:
            report.invalid.append(("id_number", gid))
            continue
        new_hash = ring.keyed_hash(value, purpose=ID_PURPOSE)
        if value == plain and new_hash == old_hash:
            continue
        kept = db_session.scalar(select(Guard.id).where(Guard.id_hash == new_hash,
                                                        Guard.id != gid))
        if kept is not None:
            report.duplicates.append(Duplicate("id_number", kept, gid))
            continue
        db_session.execute(update(Guard).where(Guard.id == gid).values(
            id_hash=new_hash, id_enc=vault.encrypt(db_session, value.encode(),
                                                   purpose=ID_PURPOSE)))
        report.rewritten["id_number"] += 1


def _plain(db_session: Session, report: IdentifierReport, kind: str, table: type, column,  # noqa: ANN001
           canon: Callable[[str], str | None]) -> None:
    """Rewrite a plaintext identifier column to its canonical form, keeping it unique."""
    for rid, value in db_session.execute(select(table.id, column).where(column.is_not(None))
                                         .order_by(table.id)).all():
        try:
            new = canon(value)
        except GuardidError:
            report.invalid.append((kind, rid))
            continue
        if new == value:
            continue
        kept = db_session.scalar(select(table.id).where(column == new, table.id != rid))
        if kept is not None:
            report.duplicates.append(Duplicate(kind, kept, rid))
            continue
        db_session.execute(update(table).where(table.id == rid).values({column.key: new}))
        report.rewritten[kind] += 1


def _audit_duplicates(db_session: Session, actor: Actor, found: list[Duplicate]) -> None:
    """Record each duplicate once (a re-run finds it again but does not record it twice)."""
    for d in found:
        seen = db_session.scalar(select(AuditEntry.id).where(
            AuditEntry.action == DUPLICATE_ACTION, AuditEntry.resource_type == RESOURCE[d.kind],
            AuditEntry.resource_id == str(d.other)).limit(1))
        if seen is None:
            audit.record(db_session, actor, DUPLICATE_ACTION, resource_type=RESOURCE[d.kind],
                         resource_id=d.other, detail={"kind": d.kind, "kept": d.kept,
                                                      "other": d.other})
