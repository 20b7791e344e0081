"""Migrations upgrade an empty database to head, on SQLite and on PostgreSQL."""

import ast
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from registry import migrate
from registry.db import make_engine
from registry.models import Base


@contextmanager
def _fresh_engine(db_url, tmp_path):
    """Yield an engine on a new, empty database of the suite's kind; drop it afterwards."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    name = f"guardid_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_reaches_head_with_every_table(db_url, tmp_path):
    with _fresh_engine(db_url, tmp_path) as engine:
        assert migrate.current_revision(engine) is None
        assert not migrate.is_current(engine)
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        migrate.upgrade(engine)  # idempotent


def test_models_match_migrations(migrated_engine):
    """Autogenerate finds nothing to add: the migration files are complete."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with migrated_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_readyz_reports_database_and_migrations(client):
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "migrations": "ok",
                                                           "galleries": "ok"}


def test_guard_spans_migration_backfills_existing_history(db_url, tmp_path):
    """A database with history from before guard_spans gets its spans when upgraded."""
    with _fresh_engine(db_url, tmp_path) as engine:
        migrate.upgrade(engine, "0401")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO guards (id, name, id_hash, id_enc, gender, birth_date, district,"
                " duty_status, background_check, skill_level, created_at, updated_at) VALUES"
                " (1, 'a', 'h', :b, 'male', '1990-01-01', 'x', 'on_duty', 'passed', 1,"
                " '2026-11-01 09:00:00', '2026-11-01 09:00:00')"), {"b": b"x"})
            conn.execute(text(
                "INSERT INTO guard_events (guard_id, at, kind, value) VALUES"
                " (1, '2026-11-01 09:00:00', 'duty_status', 'on_duty'),"
                " (1, '2026-11-05 09:00:00', 'duty_status', 'off_duty')"))
            conn.execute(text(
                "INSERT INTO biometrics (guard_id, modality, position, template_enc, quality,"
                " model_id, captured_at) VALUES (1, 'finger', 2, :b, 50, 'm',"
                " '2026-11-03 09:00:00'), (1, 'face', 0, :b, 50, 'm', '2026-11-02 09:00:00')"),
                {"b": b"x"})
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT duty_status FROM guard_spans WHERE guard_id = 1"
                                     " ORDER BY valid_from")).scalars().all()
            backfilled = _spans(conn)
        assert rows == ["on_duty", "on_duty", "on_duty", "off_duty"]
        # The migration's frozen copy writes what the application's rebuild writes.
        from reporting import spans

        with engine.begin() as conn:
            spans.rebuild(conn)
            assert _spans(conn) == backfilled


def _spans(conn) -> list:
    """Return every guard span, in key order."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT * FROM guard_spans ORDER BY valid_to, guard_id, valid_from"))]


VERSIONS = Path(migrate.__file__).resolve().parent / "migrations" / "versions"
ROOT = VERSIONS.parents[2]


def _application_imports(path: Path) -> list[str]:
    """Return the imports in ``path`` of guardid's own packages and modules."""
    own = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    own |= {p.stem for p in ROOT.glob("*.py")}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in own]
    return found


def test_migrations_import_no_application_code():
    """A revision is frozen: it must not import code that later changes under it."""
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) > 10
    assert [hit for f in files for hit in _application_imports(f)] == []
