"""A real Milvus standalone server (the ``milvus`` package from PyPI) for the Milvus pass.

``make test-milvus`` sets GUARDID_TEST_GALLERY_BACKEND=milvus; the pytest controller process
(not each xdist worker) then starts one server on a port of its own for the whole run and
stops it at the end (tests/conftest.py). The tests of one xdist worker take that worker's
pair of collections in turn (a prefix with the run's token), emptied after each test, so tests
never see each other's vectors. Outside CI a server that cannot start skips the Milvus tests
with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

BACKEND = os.environ.get("GUARDID_TEST_GALLERY_BACKEND", "embedded")
URI_ENV, ERROR_ENV = "GUARDID_TEST_MILVUS_URI", "GUARDID_TEST_MILVUS_ERROR"
# The run's token, set by the controller and inherited by its workers: two runs sharing one
# server (GUARDID_TEST_MILVUS_URI) never take each other's collections.
RUN_ENV = "GUARDID_TEST_MILVUS_RUN"
# Rows read per query while emptying a collection (Milvus caps a query's result window).
EMPTY_BATCH = 10_000
START_TIMEOUT_MS = 120_000
# milvus-lite 2.3.5's embedded etcd always takes this peer port (not configurable), so only one
# such server can run on a machine at a time; every other port is chosen free per run.
ETCD_PEER_PORT = 2380
# The test server's proxy time tick (Milvus's default: 200 ms). A Strong read, or one as of a
# write just made, waits one to two ticks (250-430 ms measured with 200 ms), and the suite's
# searches follow the indexer's writes closely.
TIME_TICK_MS = 50


def wanted() -> bool:
    """Whether this run tests the Milvus backend."""
    return BACKEND == "milvus"


def start_server():  # noqa: ANN201 (milvus.MilvusServer)
    """Start a Milvus standalone server in a private folder; set URI_ENV (or ERROR_ENV)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", ETCD_PEER_PORT)) == 0:
            os.environ[ERROR_ENV] = (f"the Milvus test server cannot start: port "
                                     f"{ETCD_PEER_PORT} (its embedded etcd's fixed peer port) "
                                     "is taken, e.g. by another Milvus standalone")
            return None
    try:
        from milvus import MilvusServer

        from tests.servers import free_port

        base = tempfile.mkdtemp(prefix="guardid-milvus-")
        server = MilvusServer(_config(Path(base)), wait_for_started=False)
        server.set_base_dir(base)
        server.listen_port = free_port()
        server.start()
        server.wait_started(START_TIMEOUT_MS)
    except Exception as exc:  # noqa: BLE001 (the reason is reported by every Milvus test)
        os.environ[ERROR_ENV] = f"the Milvus test server did not start: {exc!r}"
        return None
    os.environ[URI_ENV] = f"http://127.0.0.1:{server.listen_port}"
    return server


def _config(base: Path):  # noqa: ANN202 (milvus.MilvusServerConfig)
    """The package's server configuration with the test time tick (TIME_TICK_MS), its
    template written into the server's folder ``base``."""
    import milvus

    data = Path(milvus.__file__).parent / "data"
    text = (data / "config.yaml.template").read_text(encoding="utf-8")
    tick = "timeTickInterval: 200 "
    if tick not in text:
        raise RuntimeError("the milvus package's config template has no proxy time tick")
    template = base / "config.yaml.template"
    template.write_text(text.replace(tick, f"timeTickInterval: {TIME_TICK_MS} "),
                        encoding="utf-8")
    config = milvus.MilvusServerConfig(template=str(template))
    config.glog_conf_file = str(data / "glog.conf")  # set by the package only without a template
    return config


def uri() -> str:
    """Return the run's Milvus URI; skip (fail under CI) when there is none."""
    got = os.environ.get(URI_ENV)
    if got:
        return got
    reason = os.environ.get(ERROR_ENV) or (
        "no Milvus server for this run (make test-milvus starts one; or set "
        f"{URI_ENV})")
    if os.environ.get("CI") == "true" and wanted():
        pytest.fail(reason)
    pytest.skip(reason)


def prefix(worker: str) -> str:
    """Return a collection prefix of one test's own."""
    return f"t_{worker}_{uuid.uuid4().hex[:10]}"


def start_run() -> None:
    """Give this run its token (RUN_ENV), once, in the controller."""
    os.environ.setdefault(RUN_ENV, uuid.uuid4().hex[:8])


def worker_prefix(worker: str) -> str:
    """Return the collection prefix the tests of one xdist worker take in turn: creating and
    loading a pair of collections takes Milvus ~4 s, opening loaded ones ~0.05 s, so each
    test empties them afterwards (:func:`empty`) instead of dropping them."""
    return f"t_{os.environ.get(RUN_ENV, 'solo')}_{worker}"


def empty(prefix_: str) -> None:
    """Delete every row of the ``prefix_`` collections, so the next test finds them empty; a
    collection that cannot be emptied (e.g. one a test released) is dropped instead, and the
    next test creates it again. (Plain pymilvus, not MilvusStore: opening a store would create
    collections a test dropped, ~4 s each.)"""
    from pymilvus import Collection, connections, utility

    alias = f"empty-{prefix_}-{uuid.uuid4().hex[:6]}"
    connections.connect(alias=alias, uri=uri())
    try:
        for kind in ("faces", "fingers"):
            name = f"{prefix_}_{kind}"
            if not utility.has_collection(name, using=alias):
                continue
            try:
                _delete_all(Collection(name, using=alias))
            except Exception:  # noqa: BLE001 (pymilvus raises MilvusException for all)
                utility.drop_collection(name, using=alias)
    finally:
        connections.disconnect(alias)


def _delete_all(c) -> None:  # noqa: ANN001 (pymilvus Collection)
    """Delete every row of ``c`` by its primary keys, read with Strong consistency (a delete
    by expression reads them at Bounded consistency and can miss a row just written), until a
    Strong read finds none."""
    key = c.primary_field.name
    while keys := [r[key] for r in c.query(f"{key} >= 0", output_fields=[key],
                                           limit=EMPTY_BATCH, consistency_level="Strong")]:
        c.delete(f"{key} in {keys}")


def server_env(prefix_: str) -> dict[str, str]:
    """Return the GUARDID_* variables that put a served process on this run's Milvus (none
    outside the Milvus pass)."""
    if not wanted():
        return {}
    return {"GUARDID_GALLERY_BACKEND": "milvus", "GUARDID_MILVUS_URI": uri(),
            "GUARDID_MILVUS_COLLECTION_PREFIX": prefix_}
