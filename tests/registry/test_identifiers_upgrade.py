"""The post-upgrade step: identifiers stored before canonicalisation are rewritten once, and
duplicates they hid are reported (never merged)."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from cli.context import CLI_ACTOR
from registry import guards, identifiers, idnumber
from registry.guards import ID_PURPOSE, GuardFilters
from registry.models import (
    AuditEntry,
    BackgroundCheck,
    Certificate,
    CertificateStatus,
    DutyStatus,
    Gender,
    Guard,
    LicenceStatus,
    Organisation,
    OrgType,
)

ROOT = Path(__file__).resolve().parents[2]
ASCII_ID = "120103198503041110"
FULL_WIDTH_ID = "１２０１０３１９８５０３０４１１１0"
ARABIC_ASCII = idnumber.make("120225", dt.date(1985, 3, 7), 1, male=True)
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def legacy_guard(session, vault, stored: str, name: str) -> int:
    """Insert a guard the way the old code did: the ID number encrypted and hashed as typed."""
    g = Guard(name=name, id_hash=vault.keyring.keyed_hash(stored, purpose=ID_PURPOSE),
              id_enc=vault.encrypt(session, stored.encode(), purpose=ID_PURPOSE),
              gender=Gender.male, birth_date=dt.date(1985, 3, 4), district="和平区",
              duty_status=DutyStatus.on_duty, background_check=BackgroundCheck.passed)
    session.add(g)
    session.flush()
    return g.id


def legacy_world(session, vault) -> dict[str, int]:
    """Guards, certificates and organisations as the old code could have stored them."""
    lone = idnumber.make("110105", dt.date(1949, 12, 31), 2, male=False)
    ids = {"ascii": legacy_guard(session, vault, ASCII_ID, "甲"),
           "wide_dup": legacy_guard(session, vault, FULL_WIDTH_ID, "甲'"),
           "wide_lone": legacy_guard(session, vault, lone.translate(WIDE), "乙"),
           "arabic": legacy_guard(session, vault,
                                  ARABIC_ASCII.translate(ARABIC_INDIC), "丙")}
    for key, number in (("c_upper", "AB-0001"), ("c_lower_dup", "ab-0001"),
                        ("c_lower", "cd-0002")):
        c = Certificate(number=number, guard_id=ids["ascii"], issue_date=dt.date(2026, 1, 1),
                        status=CertificateStatus.valid)
        session.add(c)
        session.flush()
        ids[key] = c.id
    for key, licence in (("o_lower", "tj-l-1"), ("o_dup", "TJ-L-2"), ("o_dup2", "tj-l-2")):
        o = Organisation(name=key, org_type=OrgType.security_company, licence_no=licence,
                         licence_status=LicenceStatus.licensed, district="和平区")
        session.add(o)
        session.flush()
        ids[key] = o.id
    session.commit()
    ids["lone_number"] = lone
    return ids


def find(session, vault, number):
    items, _ = guards.list_page(db_session=session, vault=vault, actor=CLI_ACTOR,
                                filters=GuardFilters(id_number=number))
    return [g.id for g in items]


def test_stored_identifiers_are_canonicalised_and_duplicates_reported(session, runtime):
    vault = runtime.vault
    ids = legacy_world(session, vault)
    report = identifiers.canonicalise_stored(db_session=session, vault=vault, actor=CLI_ACTOR)
    assert report.rewritten == {"id_number": 2, "certificate_number": 1, "licence_number": 1}
    assert {(d.kind, d.kept, d.other) for d in report.duplicates} == {
        ("id_number", ids["ascii"], ids["wide_dup"]),
        ("certificate_number", ids["c_upper"], ids["c_lower_dup"]),
        ("licence_number", ids["o_dup"], ids["o_dup2"])}
    assert report.invalid == []
    # The rewritten guards are found by their ASCII number, and decrypt to it.
    assert find(session, vault, ids["lone_number"]) == [ids["wide_lone"]]
    assert find(session, vault, ARABIC_ASCII) == [ids["arabic"]]
    assert find(session, vault, ASCII_ID) == [ids["ascii"]]  # the duplicate is not merged
    plain = vault.decrypt(session, session.get(Guard, ids["arabic"]).id_enc,
                          purpose=ID_PURPOSE).decode()
    assert plain == ARABIC_ASCII
    assert session.get(Certificate, ids["c_lower"]).number == "CD-0002"
    assert session.get(Organisation, ids["o_lower"]).licence_no == "TJ-L-1"
    assert session.scalar(select(func.count()).select_from(Guard)) == 4
    # Each duplicate is in the audit log for a city-level decision, with ids only.
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.action == identifiers.DUPLICATE_ACTION)).all()
    assert {(e.resource_type, e.resource_id) for e in entries} == {
        ("guard", str(ids["wide_dup"])), ("certificate", str(ids["c_lower_dup"])),
        ("organisation", str(ids["o_dup2"]))}
    assert not any(ASCII_ID in e.detail or "甲" in e.detail for e in entries)


def test_the_step_is_idempotent(session, runtime):
    vault = runtime.vault
    legacy_world(session, vault)
    first = identifiers.canonicalise_stored(db_session=session, vault=vault, actor=CLI_ACTOR)
    snapshot = session.execute(select(Guard.id, Guard.id_hash, Guard.id_enc)
                               .order_by(Guard.id)).all()
    again = identifiers.canonicalise_stored(db_session=session, vault=vault, actor=CLI_ACTOR)
    assert again.rewritten == {"id_number": 0, "certificate_number": 0, "licence_number": 0}
    assert again.duplicates == first.duplicates  # still reported, still not merged
    assert session.execute(select(Guard.id, Guard.id_hash, Guard.id_enc)
                           .order_by(Guard.id)).all() == snapshot
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == identifiers.DUPLICATE_ACTION)) == 3


def test_guardid_migrate_runs_the_step_and_reports_duplicates(session, runtime):
    legacy_world(session, runtime.vault)
    s = runtime.settings
    env = {**os.environ, "GUARDID_DATABASE_URL": s.database_url,
           "GUARDID_VAR_DIR": str(s.var_dir), "GUARDID_KEYRING_FILE": str(s.keyring_file),
           "GUARDID_ENV": "test"}
    proc = subprocess.run([sys.executable, "-m", "cli.main", "migrate", "--strict"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "rewrote 2 id_numbers" in proc.stdout
    assert proc.stdout.count("DUPLICATE") == 3
    assert ASCII_ID not in proc.stdout and FULL_WIDTH_ID not in proc.stdout
    session.expire_all()
    assert find(session, runtime.vault, ARABIC_ASCII) != []
