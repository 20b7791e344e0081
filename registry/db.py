"""Engine and sessions: SQLite (WAL, serialised writers) by default, PostgreSQL when shared."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from registry.files import private_sqlite

# Execution option marking a connection whose transactions only read.
READ_ONLY_OPTION = "guardid_read_only"
# How long a SQLite writer waits for the write lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Return an engine for ``url``; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE.

    SQL parameters (names, districts, sites) never reach a log or an exception message; a
    SQLite file is created owner-only (its -wal and -shm inherit that mode).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite(Path(parsed.database))
        engine = create_engine(
            url, echo=echo, hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True,
                         pool_size=10, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Every guardid transaction appends to the audit chain, so each is a writer:
        # take the write lock up front rather than fail on upgrade (SQLITE_BUSY_SNAPSHOT).
        # Long reads that write nothing (index catch-up) ask for a plain snapshot instead,
        # which in WAL mode neither waits for nor blocks the writers.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *,
                         hooks: Iterable[Callable[[sessionmaker[Session]], None]] = ()
                         ) -> sessionmaker[Session]:
    """Return the session factory used by services (objects stay usable after commit).

    ``hooks`` install listeners on it (read models kept in step with their records); the
    composition root (bootstrap.SESSION_HOOKS) passes them, so the registry imports no domain.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    for install in hooks:
        install(factory)
    return factory


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that rolls back on error and always closes."""
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """Yield a session for a long read that must not hold SQLite's write lock."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{READ_ONLY_OPTION: True})
        session = Session(bind=conn, expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            session.close()
            conn.rollback()


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
