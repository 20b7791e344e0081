"""No personal data in logs: a database error whose statement carries a guard's name, ID
number, district and post, served by uvicorn with guardid's log configuration, leaves JSON
lines only, the traceback exactly once, and none of those values."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from api.app import LOGGERS, create_app, log_config
from tests.api.conftest import new_id
from tests.helpers import auth
from tests.servers import free_port

NAME, POST, DISTRICT = "张秘密", "机密哨位七号", "宝坻区"
ID_NUMBER = new_id(77)
# A trigger makes the guard insert fail inside the database, with the values in the statement
# parameters (both databases) and, on PostgreSQL, in the database's own error message too.
TRIGGERS = {
    "sqlite": (["CREATE TRIGGER leak_probe BEFORE INSERT ON guards "
                "BEGIN INSERT INTO no_such_table VALUES (NEW.name); END"],
               ["DROP TRIGGER IF EXISTS leak_probe"]),
    "postgresql": (["CREATE FUNCTION leak_probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "RAISE EXCEPTION 'refused %, %, %', NEW.name, NEW.district, NEW.post_site; "
                    "END $$",
                    "CREATE TRIGGER leak_probe BEFORE INSERT ON guards FOR EACH ROW "
                    "EXECUTE FUNCTION leak_probe()"],
                   ["DROP TRIGGER IF EXISTS leak_probe ON guards",
                    "DROP FUNCTION IF EXISTS leak_probe()"]),
}


@pytest.fixture
def restore_logging():
    """Put the test process's logging back as it was (the server reconfigures it)."""
    names = [None, *LOGGERS]
    saved = {n: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
             for n in names for lg in [logging.getLogger(n)]}
    yield
    for n, (handlers, level, propagate, disabled) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:], lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled


@pytest.fixture
def failing_inserts(engine):
    create, drop = TRIGGERS[engine.dialect.name]
    with engine.begin() as conn:
        for sql in create:
            conn.execute(text(sql))
    yield
    with engine.begin() as conn:
        for sql in drop:
            conn.execute(text(sql))


def _serve_once(app, request) -> httpx.Response:  # noqa: ANN001
    """Serve ``app`` with uvicorn in a thread as `guardid serve` does; send one request."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=log_config("INFO"), access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        return request(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_a_database_error_logs_no_personal_data_and_one_traceback(
        runtime, keys, failing_inserts, restore_logging, capsys):
    capsys.readouterr()
    r = _serve_once(create_app(runtime=runtime), lambda url: httpx.post(
        url + "/guards", headers=auth(keys["admin"]), timeout=20,
        json={"name": NAME, "id_number": ID_NUMBER, "district": DISTRICT, "post_site": POST}))
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    out = capsys.readouterr()
    lines = [ln for ln in (out.err + out.out).splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]  # every line is one JSON record
    with_traceback = [rec for rec in records if "Traceback" in json.dumps(rec)]
    assert len(with_traceback) == 1 and "exc" in with_traceback[0]
    assert "SQL:" in with_traceback[0]["exc"]  # the statement, for whoever debugs it
    for secret in (NAME, POST, DISTRICT, ID_NUMBER, ID_NUMBER[-6:]):
        assert secret not in out.err + out.out



def test_database_errors_do_not_carry_their_parameters(engine):
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as failed, engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table (name) VALUES (:n)"), {"n": NAME})
    assert NAME not in str(failed.value) and "hidden" in str(failed.value)
