"""Owner-only files: the var directory, the SQLite database (and its -wal/-shm) and every
file guardid writes under var are readable by the service's own user alone."""

from __future__ import annotations

import os
from pathlib import Path

# rwx for the owner only (the var directory and anything guardid creates inside it).
PRIVATE_DIR_MODE = 0o700
# rw for the owner only (database, its journals, keyring, key files).
PRIVATE_FILE_MODE = 0o600
# The process umask that makes every file and directory the service creates owner-only.
PRIVATE_UMASK = 0o077
# SQLite's companion files; SQLite creates them with the database file's own mode.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Make files the process creates from now on owner-only (CLI and server processes)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make the directory itself mode 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _chmod(path, PRIVATE_DIR_MODE)
    return path


def private_sqlite(database: Path) -> None:
    """Create the SQLite file mode 0600 before SQLite opens it; tighten existing ones.

    A missing parent is created 0700; an existing one is the operator's (the var directory
    itself is made private by the runtime).
    """
    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if not database.exists():
        # Only ever for a new file: closing a descriptor of a database this process already
        # has open would drop SQLite's POSIX locks on it (and can corrupt it).
        fd = os.open(database, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.close(fd)
    for suffix in ("", *SQLITE_SIDE_FILES):
        side = database.with_name(database.name + suffix)
        if side.exists():
            _chmod(side, PRIVATE_FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    """Set ``mode`` on a file this user owns (someone else's file is left as it is)."""
    if path.stat().st_uid == os.geteuid():
        os.chmod(path, mode)
