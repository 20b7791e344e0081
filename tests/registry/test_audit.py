from sqlalchemy import delete, update

from registry import audit
from registry.audit import Actor
from registry.models import AuditEntry

ACTOR = Actor(key_id="k1", role="admin", client="127.0.0.1")


def _write(session, n=5):
    for i in range(n):
        audit.record(session, ACTOR, "guard.read", resource_type="guard", resource_id=i)
    session.commit()


def test_intact_chain_verifies(session):
    _write(session)
    report = audit.verify(session)
    assert report.ok and report.checked == 5
    assert audit.head(session)[0] == 5


def test_altered_entry_is_detected(session):
    _write(session)
    session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone-else"))
    session.commit()
    report = audit.verify(session)
    assert not report.ok
    assert {"seq": 3, "problem": "altered"}.items() <= report.problems[0].items()


def test_deleted_entry_is_detected(session):
    _write(session)
    session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    session.commit()
    problems = audit.verify(session).problems
    assert any(p["problem"] == "missing" and p["seq"] == 2 for p in problems)


def test_rehashed_entry_breaks_the_next_link(session):
    """An attacker who alters an entry and recomputes its hash still breaks the chain."""
    _write(session)
    entry = session.get(AuditEntry, 2)
    entry.detail = '{"forged": true}'
    entry.hash = audit._digest(entry)
    session.commit()
    problems = audit.verify(session).problems
    assert [p["problem"] for p in problems] == ["broken_link"]
    assert problems[0]["seq"] == 3
