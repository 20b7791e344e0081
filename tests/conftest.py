"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when GUARDID_TEST_PG_URL is set),
a runtime with its own keyring, an API client and one API key per role."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from bootstrap import Runtime, session_factory
from registry import apikeys, migrate
from registry.crypto import Keyring, Vault
from registry.db import make_engine
from registry.models import Base, Role
from registry.settings import Environment, Settings
from tests import milvus

PG_URL = os.environ.get("GUARDID_TEST_PG_URL")
# The suite's fingerprints come from the synthetic generator, so it uses thresholds calibrated
# on that generator (other seeds than the tests use), as a site uses its own calibration.
SYNTHETIC_FINGER_THRESHOLDS = (Path(__file__).resolve().parent.parent / "fixtures"
                               / "synthetic_finger_thresholds.json")
migrate.load_models()


def pytest_configure(config):
    """The Milvus pass: the controller process starts one Milvus server for the whole run
    (xdist workers inherit its address through the environment)."""
    from tests import milvus

    if not milvus.wanted() or hasattr(config, "workerinput"):
        return
    milvus.start_run()
    if not os.environ.get(milvus.URI_ENV):
        config._guardid_milvus = milvus.start_server()


def pytest_unconfigure(config):
    """Stop the run's Milvus server."""
    server = getattr(config, "_guardid_milvus", None)
    if server is not None:
        server.stop()


def pytest_collection_modifyitems(items):
    """Mark every test that touches the database, so the PostgreSQL pass can select them."""
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def db_url(tmp_path_factory, worker_id):
    """URL of an empty database for this test worker, dropped at the end."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'guardid.db'}"
        return
    name = f"guardid_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_engine(db_url):
    """An engine on the worker's database, upgraded to the migration head."""
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine):
    """The migrated engine, emptied after each test."""
    yield migrated_engine
    with migrated_engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def settings(tmp_path, db_url, worker_id) -> Iterator[Settings]:
    """Test settings: a private var dir and the worker's database (in the Milvus pass, the
    run's Milvus server with the worker's collections, emptied after the test)."""
    backend = {}
    if milvus.wanted():
        backend = {"gallery_backend": "milvus", "milvus_uri": milvus.uri(),
                   "milvus_collection_prefix": milvus.worker_prefix(worker_id)}
    yield Settings(env=Environment.test, var_dir=tmp_path / "var", database_url=db_url,
                   keyring_file=tmp_path / "var" / "keyring.json", datasets=_datasets(),
                   finger_thresholds_file=str(SYNTHETIC_FINGER_THRESHOLDS), **backend)
    if backend:
        milvus.empty(backend["milvus_collection_prefix"])


def _datasets() -> Path | None:
    raw = os.environ.get("GUARDID_DATASETS")
    if raw:
        return Path(raw) if Path(raw).is_dir() else None
    return Settings().datasets


@pytest.fixture
def runtime(settings, engine) -> Iterator[Runtime]:
    """A runtime on the test database with a fresh keyring."""
    keyring = Keyring.open(settings.keyring_file, create=True)
    rt = Runtime(settings=settings, engine=engine, sessions=session_factory(engine),
                 vault=Vault(keyring))
    if not rt.uses_milvus:
        yield rt
        return
    rt.start_indexer()  # as a served process does: the feed reaches Milvus in the background
    try:
        yield rt
    finally:
        rt.stop_indexer()
        rt.milvus_store.close()  # the settings fixture empties the collections


@pytest.fixture
def session(runtime):
    """A database session for service-level tests."""
    with runtime.sessions() as s:
        yield s


@pytest.fixture
def client(runtime):
    """An HTTP client on the app, lifespan run."""
    with TestClient(create_app(runtime=runtime)) as c:
        yield c


@pytest.fixture
def keys(runtime) -> dict[str, str]:
    """One API token per role (plus 'district_police' scoped to 蓟州区)."""
    out = {}
    with runtime.sessions() as s:
        for role in Role:
            out[role.value] = apikeys.create(db_session=s, role=role, name=role.value).token
        out["district_police"] = apikeys.create(db_session=s, role=Role.police, name="dp",
                                                district="蓟州区").token
        s.commit()
    return out


@pytest.fixture
def datasets(settings) -> Path:
    """The shared public datasets folder; tests using it skip with a reason when absent."""
    if settings.datasets is None:
        pytest.skip("public datasets not found: set GUARDID_DATASETS (default ../shared/data)")
    return settings.datasets


@pytest.fixture(scope="session")
def datasets_or_none() -> Path | None:
    """The shared datasets folder when present (for tests that have a synthetic fallback)."""
    return _datasets()


@pytest.fixture
def env(runtime) -> dict[str, str]:
    """Environment for a `guardid` subprocess on the test's database and keys."""
    from tests.servers import server_env

    return server_env(runtime)


@pytest.fixture
def server(env):
    """A real `guardid serve` process on a free port; yields its URL."""
    from tests.servers import start

    proc, url = start(env)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
