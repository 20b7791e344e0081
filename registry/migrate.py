"""Schema migrations (Alembic) run from code: upgrade, current revision, head check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the database behind ``engine`` to ``revision``."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def head_revisions() -> set[str]:
    """Return the newest revision of every migration branch shipped with this code.

    Each domain (registry, enrollment, inspection, reporting) keeps its own branch off the
    registry baseline, so several heads are normal.
    """
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """Return the revisions the database is at (empty when never migrated)."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    """Return the database's revisions as one display string (None when never migrated)."""
    revs = current_revisions(engine)
    return ",".join(sorted(revs)) if revs else None


def is_current(engine: Engine) -> bool:
    """True when the database schema is at every head revision of the code."""
    return current_revisions(engine) == head_revisions()


# Each domain keeps its tables in its own ``models`` module on the shared ``Base``; they are
# named here (not imported) so the registry never depends on the domains at import time.
DOMAIN_MODELS = ("biometrics.models", "enrollment.models", "inspection.models", "violations.models",
                 "reporting.models")


def load_models() -> None:
    """Import every domain's tables so ``Base.metadata`` describes the whole schema."""
    import importlib

    for name in DOMAIN_MODELS:
        importlib.import_module(name)
