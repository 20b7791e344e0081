"""Cost of appending one audit entry, as a request does: one transaction, one entry, commit.

    python bench/audit_append.py --entries 2000 [--url postgresql+psycopg://...]

Times ``audit.record`` + commit per transaction on a fresh SQLite file (or the PostgreSQL
database named by --url, emptied of audit entries first), and counts the statements that
write the audit table per entry. Prints one JSON line: median and p95 per append (ms),
appends per second, writes per entry.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, event  # noqa: E402

from registry import audit, migrate  # noqa: E402
from registry.db import make_engine, make_session_factory  # noqa: E402
from registry.models import AuditEntry  # noqa: E402

ACTOR = audit.Actor(key_id="bench", role="admin", client="127.0.0.1", district="和平区")
KEY = b"k" * 32  # any 32 bytes: the MAC's cost, not its secrecy, is measured


def run(url: str, entries: int) -> dict:
    """Append ``entries`` entries one transaction each; return the figures."""
    engine = make_engine(url)
    migrate.load_models()
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    sessions.configure(info={audit.SESSION_KEY_INFO: KEY})
    with sessions() as s:
        s.execute(delete(AuditEntry))
        s.commit()
    writes = [0]

    def count(conn, cursor, statement, *_):  # noqa: ANN001, ANN002
        if "audit_log" in statement and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE"):
            writes[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    times = []
    for i in range(entries):
        t0 = time.perf_counter()
        with sessions() as s:
            audit.record(s, ACTOR, "guard.read", resource_type="guard", resource_id=i,
                         detail={"i": i}, district="和平区")
            s.commit()
        times.append(time.perf_counter() - t0)
    engine.dispose()
    times.sort()
    return {"backend": engine.dialect.name, "entries": entries,
            "median_ms": round(statistics.median(times) * 1000, 3),
            "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 3),
            "per_s": round(entries / sum(times)), "writes_per_entry": writes[0] / entries}


def main() -> None:
    """Parse the arguments and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=2000)
    p.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(json.dumps(run(url, args.entries)))


if __name__ == "__main__":
    main()
