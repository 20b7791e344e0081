"""Alembic environment: runs against the connection handed in by registry.migrate."""

from alembic import context

from registry.migrate import load_models
from registry.models import Base

load_models()

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the connection in ``config.attributes['connection']``."""
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` CLI use
        from registry.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
