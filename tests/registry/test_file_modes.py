"""Owner-only files: the var directory 0700; the SQLite database, its -wal and -shm, the keyring
and the demo key file 0600, whatever the process umask."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from bootstrap import build_runtime
from registry.settings import Environment, Settings


def _mode(path) -> int:  # noqa: ANN001
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """Run under the common default umask, so only guardid's own modes can keep files private."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_var_database_and_keyring_are_owner_only(tmp_path, open_umask):
    var = tmp_path / "var"
    rt = build_runtime(Settings(env=Environment.development, var_dir=var))
    try:
        with rt.engine.begin() as conn:  # a write creates the -wal and -shm files
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('x')"))
        db = var / "guardid.db"
        files = [db, var / "guardid.db-wal", var / "guardid.db-shm", var / "keyring.json"]
        assert all(f.exists() for f in files)
        assert _mode(var) == 0o700
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        rt.close()


def test_existing_loose_files_are_tightened(tmp_path, open_umask):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    db = var / "guardid.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    rt = build_runtime(Settings(env=Environment.development, var_dir=var))
    rt.close()
    assert _mode(var) == 0o700 and _mode(db) == 0o600
