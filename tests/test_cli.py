"""The guardid command line against a real database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from registry.models import AuditEntry

ROOT = Path(__file__).resolve().parent.parent


def run(args, env_extra, check=True):
    env = {**os.environ, **env_extra}
    proc = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


@pytest.fixture
def env(runtime):
    s = runtime.settings
    return {"GUARDID_DATABASE_URL": s.database_url, "GUARDID_VAR_DIR": str(s.var_dir),
            "GUARDID_KEYRING_FILE": str(s.keyring_file), "GUARDID_ENV": "test"}


def test_key_created_on_the_cli_works_once_printed(env, client):
    token = run(["keys", "create", "--role", "police", "--district", "蓟州区"], env).stdout.strip()
    assert token.startswith("gid_")
    r = client.get("/guards", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    listing = run(["keys", "list"], env).stdout
    assert token.split("_", 2)[2] not in listing  # the secret is never shown again
    key_id = token.split("_", 2)[1]
    run(["keys", "revoke", key_id], env)
    assert client.get("/guards", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_audit_verify_exit_code_follows_the_chain(env, session):
    run(["demo", "load"], env)
    ok = run(["audit", "verify", "--json"], env)
    assert '"ok": true' in ok.stdout
    session.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(action="forged"))
    session.commit()
    bad = run(["audit", "verify"], env, check=False)
    assert bad.returncode == 1 and "seq 5: altered" in bad.stdout


def test_production_refuses_to_start_without_a_keyring(env, tmp_path):
    env = {**env, "GUARDID_ENV": "production", "GUARDID_KEYRING_FILE": str(tmp_path / "none")}
    proc = run(["keys", "list"], env, check=False)
    assert proc.returncode == 2 and "configuration_error" in proc.stderr


def test_production_refuses_the_implicit_database(env, tmp_path):
    env = {k: v for k, v in env.items() if k != "GUARDID_DATABASE_URL"}
    env.update({"GUARDID_ENV": "production", "GUARDID_VAR_DIR": str(tmp_path / "var")})
    proc = run(["migrate"], env, check=False)
    assert proc.returncode == 2 and "GUARDID_DATABASE_URL" in proc.stderr


def test_audit_checkpoint_for_a_witness_catches_a_cut_tail(env, session, tmp_path):
    """A witness keeps `guardid audit checkpoint`; deleting the newest entries is then found,
    and a checkpoint altered on its way back is refused."""
    import json

    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from sqlalchemy import delete

    from registry import audit
    from registry.checkpoints import parse

    for i in range(4):
        audit.record(session, audit.Actor("k1", "admin"), "guard.read", resource_id=i)
    session.commit()
    witness = tmp_path / "witness.json"
    out = run(["audit", "checkpoint", "--out", str(witness), "--json"], env).stdout
    cp = parse(out)
    assert cp.seq == 4 and parse(witness.read_text()) == cp
    assert oct(witness.stat().st_mode & 0o777) == "0o600"
    pem = run(["audit", "public-key"], env).stdout
    assert cp.signature_ok(load_pem_public_key(pem.encode()))
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**json.loads(out), "hash": "0" * 64}))
    session.execute(delete(AuditEntry).where(AuditEntry.seq >= 3))
    session.commit()
    for store in (Path(env["GUARDID_VAR_DIR"]) / "audit" / "checkpoints").glob("*.json"):
        store.unlink()  # the attacker also removed the local copies: the witness still has one
    bad = run(["audit", "verify", "--checkpoint", str(witness), "--checkpoint", str(forged)],
              env, check=False)
    assert bad.returncode == 1
    assert "seq 4: truncated" in bad.stdout and "seq 4: bad_checkpoint" in bad.stdout


def test_serve_on_a_database_never_migrated_says_to_migrate(tmp_path):
    db = tmp_path / "fresh.db"
    r = run(["serve", "--port", "1"], {"GUARDID_DATABASE_URL": f"sqlite:///{db}",
                                       "GUARDID_VAR_DIR": str(tmp_path), "GUARDID_ENV": "test",
                                       "GUARDID_KEYRING_FILE": str(tmp_path / "k.json")},
            check=False)
    assert r.returncode == 2, r.stderr
    assert "has never been migrated" in r.stderr and "guardid migrate" in r.stderr
    assert "Traceback" not in r.stderr and "listening" not in r.stdout
