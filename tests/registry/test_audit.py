"""The audit chain against someone who can write the database but holds neither the keyring
nor the checkpoint files: edits, re-hashed tails, deletions and truncation are all found;
appends take no lock; an entry that commits late is sealed, never skipped."""

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from registry import audit, checkpoints, migrate
from registry.audit import Actor
from registry.audit_trail import Sealer
from registry.crypto import Keyring
from registry.db import read_session
from registry.models import AuditEntry
from tests.registry.test_migrations import _fresh_engine

ROOT = Path(__file__).resolve().parents[2]

ACTOR = Actor(key_id="k1", role="admin", client="127.0.0.1")


def _write(session, n=5):
    for i in range(n):
        audit.record(session, ACTOR, "guard.read", resource_type="guard", resource_id=i)
    session.commit()


def _sealed(runtime, n=5):
    with runtime.sessions() as s:
        _write(s, n)
    assert runtime.audit_trail.seal() == n
    return runtime.audit_trail


def _kinds(report):
    return [(p["seq"], p["problem"]) for p in report.problems]


def _rehash_from(session, seq, digest):
    """The attacker's move: re-link and re-hash every entry from ``seq`` to the head."""
    prev = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq - 1))
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.seq >= seq)
                                 .order_by(AuditEntry.seq)):
        entry.prev_hash = prev
        entry.hash = prev = digest(entry)
    session.commit()


def test_intact_chain_verifies(runtime):
    trail = _sealed(runtime)
    report = trail.verify()
    assert report.ok and report.checked == 5 and report.head_seq == 5
    assert trail.head() == (5, report.head_hash)


def test_altered_entry_is_detected(runtime, session):
    trail = _sealed(runtime)
    session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone-else"))
    session.commit()
    assert _kinds(trail.verify()) == [(3, "altered")]


def test_deleted_middle_entry_is_detected(runtime, session):
    trail = _sealed(runtime)
    session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    session.commit()
    assert _kinds(trail.verify()) == [(2, "missing"), (3, "broken_link")]


def test_edit_with_the_tail_rehashed_in_plain_sha256_is_detected(runtime, session):
    """Today's attack (6,278 entries re-hashed): plain SHA-256 no longer makes a valid chain."""
    trail = _sealed(runtime)
    session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(detail='{"x": 1}'))
    _rehash_from(session, 2, audit.legacy_digest)
    assert _kinds(trail.verify()) == [(s, "altered") for s in range(2, 6)]


def test_edit_with_the_tail_rehashed_under_another_key_is_detected(runtime, session):
    trail = _sealed(runtime)
    session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(actor="nobody"))
    _rehash_from(session, 4, lambda e: audit.keyed_digest(b"\x01" * 32, e))
    assert _kinds(trail.verify()) == [(4, "altered"), (5, "altered")]


def test_relabelling_entries_as_the_old_plain_chain_is_detected(runtime, session):
    trail = _sealed(runtime)
    session.execute(update(AuditEntry).where(AuditEntry.seq >= 3).values(alg=audit.ALG_LEGACY))
    _rehash_from(session, 3, audit.legacy_digest)
    assert {k for _, k in _kinds(trail.verify())} == {"unkeyed"}


def test_entries_guardid_did_not_write_are_detected(runtime, session):
    """A row inserted into the database (or a real one copied under a new id) is sealed like
    any other, but verification names it: it has no valid entry MAC."""
    trail = _sealed(runtime, 2)
    real = session.scalars(select(AuditEntry).where(AuditEntry.seq == 1)).one()
    columns = ("at", "actor", "role", "action", "resource_type", "resource_id", "client",
               "detail", "mac")
    session.add(AuditEntry(**{c: getattr(real, c) for c in columns}))  # a replayed copy
    session.add(AuditEntry(at=real.at, actor="k9", role="inspector", action="guard.read",
                           resource_type="guard", resource_id="7", detail="{}"))  # injected
    session.commit()
    assert trail.seal() == 2
    assert _kinds(trail.verify()) == [(3, "unauthenticated"), (4, "unauthenticated")]


def test_truncation_of_what_a_checkpoint_covers_is_detected(runtime, session):
    trail = _sealed(runtime, 5)
    cp = trail.checkpoint()
    assert cp.seq == 5 and trail.verify().ok
    session.execute(delete(AuditEntry).where(AuditEntry.seq >= 4))
    session.commit()
    assert _kinds(trail.verify()) == [(5, "truncated")]
    # Deleting the whole chain is truncation too.
    session.execute(delete(AuditEntry))
    session.commit()
    assert ("truncated" in {p["problem"] for p in trail.verify().problems})


def test_entries_after_the_last_checkpoint_are_the_stated_window(runtime, session):
    """What the README admits: entries sealed after the newest checkpoint can be cut."""
    trail = _sealed(runtime, 3)
    trail.checkpoint()
    with runtime.sessions() as s:
        _write(s, 2)
    trail.seal()
    session.execute(delete(AuditEntry).where(AuditEntry.seq > 3))
    session.commit()
    assert trail.verify().ok


def test_rewritten_chain_that_a_checkpoint_pinned_is_detected(runtime, session):
    """Even with the chain key (a stolen keyring), a rewrite cannot match a kept checkpoint."""
    trail = _sealed(runtime)
    cp = trail.checkpoint()
    key = runtime.vault.keyring.chain_key()
    forged = session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
    forged.actor = "nobody"
    forged.mac = audit.entry_mac(key, forged)
    _rehash_from(session, 2, lambda e: audit.keyed_digest(key, e))
    trail.store.directory.joinpath(f"{cp.seq:012d}.json").unlink()  # the local copy is gone
    report = trail.verify([("witness.json", cp)])
    assert _kinds(report) == [(5, "checkpoint_mismatch")]


def test_checkpoint_signature_is_verified_and_forgeries_refused(runtime, tmp_path):
    trail = _sealed(runtime)
    cp = trail.checkpoint()
    stored = checkpoints.parse(next(trail.store.directory.glob("*.json")).read_text())
    assert stored == cp and cp.signature_ok(runtime.vault.keyring.checkpoint_public_key())
    assert oct(next(trail.store.directory.glob("*.json")).stat().st_mode & 0o777) == "0o600"
    foreign = checkpoints.sign(Keyring.generate(), 9, cp.hash)  # another registry's key
    altered = checkpoints.Checkpoint(**{**json.loads(cp.to_json()), "seq": 9})
    report = trail.verify([("foreign.json", foreign), ("altered.json", altered),
                           ("junk.json", "not a checkpoint")])
    assert [k for _, k in _kinds(report)] == ["bad_checkpoint"] * 3
    assert "truncated" not in {p["problem"] for p in report.problems}  # forgeries anchor nothing


def test_entry_with_an_older_insert_id_is_sealed_not_skipped(runtime, session):
    """Sealing goes by what is unsealed, not by insert ids above the last one sealed."""
    trail = _sealed(runtime, 2)
    late = audit.record(session, ACTOR, "guard.read", resource_id="late")
    session.commit()
    late.id = 0  # as if its transaction had taken its id before the sealed ones
    late.mac = audit.entry_mac(runtime.vault.keyring.chain_key(), late)
    session.commit()
    assert trail.seal() == 1
    assert session.scalar(select(AuditEntry.seq).where(AuditEntry.resource_id == "late")) == 3
    assert trail.verify().ok


def test_an_entry_is_written_whole_in_one_insert(runtime, session):
    """``record`` writes an entry once: one INSERT that carries its MAC (over its insert id),
    no UPDATE after it; the entries verify once sealed."""
    from sqlalchemy import event

    writes = []

    def spy(conn, cursor, statement, params, context, executemany):  # noqa: ANN001
        verb = statement.lstrip().split(None, 1)[0].upper()
        if "audit_log" in statement and verb in ("INSERT", "UPDATE"):
            writes.append(verb)

    event.listen(runtime.engine, "before_cursor_execute", spy)
    try:
        _write(session, 3)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", spy)
    assert writes == ["INSERT"] * 3
    key = session.info[audit.SESSION_KEY_INFO]
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert len({e.id for e in entries}) == 3
    assert all(e.mac == audit.entry_mac(key, e) for e in entries)
    session.commit()  # SQLite: let the sealer take the write lock
    assert runtime.audit_trail.seal() == 3 and runtime.audit_trail.verify().ok


def _pg_only(runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: two transactions cannot append at once")


def test_late_commit_is_sealed_in_a_later_batch_not_skipped(runtime):
    _pg_only(runtime)
    trail = runtime.audit_trail
    with runtime.sessions() as first, runtime.sessions() as second:
        early = audit.record(first, ACTOR, "guard.read", resource_id="early-id-late-commit")
        later = audit.record(second, ACTOR, "guard.read", resource_id="later-id")
        assert early.id < later.id
        second.commit()
        assert trail.seal() == 1  # the uncommitted entry is invisible, not lost
        first.commit()
    assert trail.seal() == 1
    with runtime.sessions() as s:
        order = s.scalars(select(AuditEntry.resource_id).order_by(AuditEntry.seq)).all()
    assert order == ["later-id", "early-id-late-commit"]
    assert trail.verify().ok


def test_concurrent_appends_do_not_wait_for_one_another(runtime):
    """Two open transactions each append; with a lock timeout neither may wait on the other."""
    _pg_only(runtime)
    with runtime.sessions() as first, runtime.sessions() as second:
        for s in (first, second):
            s.execute(text("SET LOCAL lock_timeout = '300ms'"))
            s.execute(text("SET LOCAL statement_timeout = '2s'"))
        audit.record(first, ACTOR, "guard.read", resource_id="a")
        audit.record(second, ACTOR, "guard.read", resource_id="b")  # first is still open
        second.commit()
        first.commit()
    assert runtime.audit_trail.seal() == 2 and runtime.audit_trail.verify().ok


def test_unsealed_entries_older_than_the_bound_are_reported(runtime, session):
    _write(session, 2)
    session.execute(update(AuditEntry).values(at=AuditEntry.at - dt.timedelta(hours=1)))
    session.commit()
    report = audit.verify(session, runtime.vault.keyring.chain_key(),
                          unsealed_max_age=dt.timedelta(minutes=5))
    assert _kinds(report) == [(None, "unsealed")] and report.unsealed == 2


def _unsealed(runtime):
    with read_session(runtime.engine) as reader:
        return audit.has_unsealed(reader)


def test_the_sealer_thread_seals_and_checkpoints(runtime, session, settings):
    sealer = Sealer(runtime.audit_trail, interval=0.02, checkpoint_interval=3600,
                    checkpoint_every=3).start()
    try:
        _write(session, 3)
        deadline = time.monotonic() + 20
        while _unsealed(runtime):
            assert time.monotonic() < deadline, "the sealer did not seal"
            time.sleep(0.02)
    finally:
        sealer.stop()
    latest = runtime.audit_trail.store.latest()
    assert latest is not None and latest.seq == 3
    assert settings.audit_checkpoint_dir == settings.var_dir / "audit" / "checkpoints"


def test_audit_keys_survive_master_key_rotation_and_old_keyrings_get_them(tmp_path):
    ring = Keyring.generate(tmp_path / "ring.json")
    ring.save()
    chain, pem = ring.chain_key(), ring.checkpoint_public_pem()
    ring.add_master_key()
    ring.save()
    again = Keyring.load(tmp_path / "ring.json")
    assert again.chain_key() == chain and again.checkpoint_public_pem() == pem
    raw = json.loads((tmp_path / "ring.json").read_text())
    del raw["audit_key"], raw["checkpoint_seed"]  # a keyring from before the keyed chain
    (tmp_path / "ring.json").write_text(json.dumps(raw))
    assert Keyring.load(tmp_path / "ring.json").audit_key is None
    assert Keyring.open(tmp_path / "ring.json", create=True).audit_key is not None


def _old_chain_rows(n, *, forge_at=None):
    """Rows as the plain SHA-256 chain of before wrote them (its formula, written out here)."""
    rows, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        at = dt.datetime(2026, 11, 20, 9, 0, seq)
        row = {"seq": seq, "at": at, "actor": "k1", "role": "admin", "action": "guard.read",
               "resource_type": "guard", "resource_id": str(seq), "client": "10.0.0.1",
               "detail": "{}", "prev_hash": prev}
        payload = json.dumps([seq, at.isoformat(timespec="microseconds"), "k1", "admin",
                              "guard.read", "guard", str(seq), "10.0.0.1", "{}", prev],
                             ensure_ascii=False, separators=(",", ":"))
        row["hash"] = prev = hashlib.sha256(payload.encode()).hexdigest()
        if seq == forge_at:
            row["detail"] = '{"forged": true}'  # edited before the upgrade
        rows.append(row)
    return rows


_INSERT_OLD = text(
    "INSERT INTO audit_log (seq, at, actor, role, action, resource_type, resource_id, client,"
    " detail, prev_hash, hash) VALUES (:seq, :at, :actor, :role, :action, :resource_type,"
    " :resource_id, :client, :detail, :prev_hash, :hash)")


@pytest.mark.parametrize("forge_at", [None, 3])
def test_guardid_migrate_verifies_the_old_chain_then_reseals_it(db_url, tmp_path, forge_at):
    with _fresh_engine(db_url, tmp_path) as engine:
        migrate.upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(_INSERT_OLD, _old_chain_rows(6, forge_at=forge_at))
        url = engine.url.render_as_string(hide_password=False)
        env = {**os.environ, "GUARDID_DATABASE_URL": url, "GUARDID_ENV": "test",
               "GUARDID_VAR_DIR": str(tmp_path / "var")}
        proc = subprocess.run([sys.executable, "-m", "cli.main", "migrate"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert "6 entries of the plain SHA-256 chain re-sealed" in proc.stdout, proc.stderr
        assert proc.returncode == (0 if forge_at is None else 1)
        ring = Keyring.load(tmp_path / "var" / "keyring.json")
        with read_session(engine) as reader:
            report = audit.verify(reader, ring.chain_key())
            adopted = reader.scalars(select(AuditEntry).where(
                AuditEntry.action == "audit.legacy_adopted")).one()
            ids = reader.scalars(select(AuditEntry.id).order_by(AuditEntry.seq)).all()
        assert report.ok and report.checked == 7 and adopted.seq == 7
        assert ids[:6] == [1, 2, 3, 4, 5, 6]  # the old entries keep their place
        recorded = json.loads(adopted.detail)
        if forge_at is None:
            assert recorded == {"entries": 6, "problems": 0, "first": []}
        else:  # the re-seal does not launder the old tampering: it is on the record
            assert "seq 3: altered" in proc.stdout
            assert recorded["first"] == [{"seq": 3, "problem": "altered"}]
