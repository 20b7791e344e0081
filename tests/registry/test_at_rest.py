"""Personal data is ciphertext at rest: neither the raw ID number nor image magic bytes
appear anywhere in the database (every row of every table; on SQLite the files too)."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from registry.models import Base
from tests.api.conftest import new_id
from tests.helpers import auth

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _all_values(engine):
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        yield bytes(value)
                    elif value is not None:
                        yield str(value).encode()


def test_raw_id_number_never_stored(client, keys, engine, runtime):
    raw = new_id(777)
    r = client.post("/guards", headers=auth(keys["admin"]),
                    json={"name": "李四", "id_number": raw, "district": "蓟州区"})
    assert r.status_code == 201
    client.get("/guards", headers=auth(keys["admin"]), params={"id_number": raw})
    values = list(_all_values(engine))
    assert values, "the scan must see rows"
    for v in values:
        assert raw.encode() not in v
        assert not any(m in v for m in IMAGE_MAGIC)
    url = make_url(runtime.settings.database_url)
    if url.get_backend_name() == "sqlite":
        # Closing any descriptor of a SQLite file drops the process's POSIX locks on it, so
        # the pool is emptied first; the test's later queries open fresh connections.
        engine.dispose()
        for suffix in ("", "-wal"):
            path = Path(url.database + suffix)
            if path.exists():
                data = path.read_bytes()
                assert raw.encode() not in data
                assert not any(m in data for m in IMAGE_MAGIC)
