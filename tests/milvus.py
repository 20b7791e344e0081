"""A real Milvus standalone server (the ``milvus`` package from PyPI) for the Milvus pass.

``make test-milvus`` sets GUARDID_TEST_GALLERY_BACKEND=milvus; the pytest controller process
(not each xdist worker) then starts one server on a port of its own for the whole run and
stops it at the end (tests/conftest.py). Each test gets collections of its own (a prefix), so
tests never see each other's vectors. Outside CI a server that cannot start skips the Milvus
tests with the reason; under CI=true it fails them.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid

import pytest

BACKEND = os.environ.get("GUARDID_TEST_GALLERY_BACKEND", "embedded")
URI_ENV, ERROR_ENV = "GUARDID_TEST_MILVUS_URI", "GUARDID_TEST_MILVUS_ERROR"
START_TIMEOUT_MS = 120_000
# milvus-lite 2.3.5's embedded etcd always takes this peer port (not configurable), so only one
# such server can run on a machine at a time; every other port is chosen free per run.
ETCD_PEER_PORT = 2380


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

        server = MilvusServer(wait_for_started=False)
        server.set_base_dir(tempfile.mkdtemp(prefix="guardid-milvus-"))
        server.listen_port = free_port()
        server.start()
        server.wait_started(START_TIMEOUT_MS)
    except Exception as exc:  # noqa: BLE001 (the reason is reported by every Milvus test)
        os.environ[ERROR_ENV] = f"the Milvus test server did not start: {exc!r}"
        return None
    os.environ[URI_ENV] = f"http://127.0.0.1:{server.listen_port}"
    return server


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


def server_env(prefix_: str) -> dict[str, str]:
    """Return the GUARDID_* variables that put a served process on this run's Milvus (none
    outside the Milvus pass)."""
    if not wanted():
        return {}
    return {"GUARDID_GALLERY_BACKEND": "milvus", "GUARDID_MILVUS_URI": uri(),
            "GUARDID_MILVUS_COLLECTION_PREFIX": prefix_}
