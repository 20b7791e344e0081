"""CLI: serve, migrate, demo data, API keys, master-key rotation, db ping."""

from __future__ import annotations

import argparse
from collections.abc import MutableMapping

from bootstrap import Runtime
from cli.context import CLI_ACTOR, fail, runtime
from registry import apikeys, audit, migrate
from registry.crypto import Keyring, Vault
from registry.models import Role


def register(sub: argparse._SubParsersAction) -> None:
    """Add the registry commands to the CLI."""
    p = sub.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1,
                   help="HTTP processes; one is enough: spot-check probes are computed by a "
                        "pool of GUARDID_COMPUTE_PROCESSES processes (default: one per core)")
    p.set_defaults(func=_serve)

    mg = sub.add_parser("migrate", help="upgrade the database schema, re-seal an old audit "
                        "chain with the chain key, then canonicalise stored identifiers and "
                        "report duplicates")
    mg.add_argument("--strict", action="store_true",
                    help="exit 1 when duplicate or invalid identifiers need a decision")
    mg.set_defaults(func=_migrate)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_cmd", required=True)
    demo.add_parser("load", help="load the demo world (idempotent)").set_defaults(func=_demo)

    keys = sub.add_parser("keys", help="API keys and encryption keys").add_subparsers(
        dest="keys_cmd", required=True)
    k = keys.add_parser("create", help="create an API key (printed once)")
    k.add_argument("--role", required=True, choices=[r.value for r in Role])
    k.add_argument("--name", default="")
    k.add_argument("--district", default=None)
    k.set_defaults(func=_keys_create)
    keys.add_parser("list", help="list API keys").set_defaults(func=_keys_list)
    r = keys.add_parser("revoke", help="revoke an API key")
    r.add_argument("key_id")
    r.set_defaults(func=_keys_revoke)
    m = keys.add_parser("rotate-master", help="new master key; re-wrap data keys (no downtime)")
    m.add_argument("--retire-old", action="store_true", help="drop master keys no longer used")
    m.set_defaults(func=_rotate_master)
    keys.add_parser("rotate-data-key", help="new data key for future writes").set_defaults(
        func=_rotate_dek)

    db = sub.add_parser("db", help="database utilities").add_subparsers(dest="db_cmd",
                                                                          required=True)
    pg = db.add_parser("ping", help="exit 0 when the database answers")
    pg.add_argument("--url", default=None)
    pg.set_defaults(func=_db_ping)


def _serve(args: argparse.Namespace) -> int:
    import os

    serve_environment(os.environ, workers=args.workers, cores=os.cpu_count() or 1)
    import uvicorn

    from api.logs import configure_logging, log_config
    from registry.settings import get_settings

    settings = get_settings()
    if not _schema_ready(settings.database_url):
        return 2
    _expire_at_start(settings)
    level = settings.log_level
    configure_logging(level)
    print(f"guardid listening on http://{args.host}:{args.port} "
          f"(pages: /station /inspect /review /dashboard; API docs: /docs)", flush=True)
    # uvicorn applies the same configuration in each worker process it starts
    uvicorn.run("api.asgi:app", host=args.host, port=args.port, workers=args.workers,
                log_config=log_config(level), access_log=False)
    return 0


def _expire_at_start(settings) -> None:  # noqa: ANN001
    """Close the enrolment sessions left open too long before serving (audited)."""
    from bootstrap import build_runtime
    from cli.enrol_cmds import expire_stale_sessions

    rt = build_runtime(settings)
    try:
        ids = expire_stale_sessions(rt)
    finally:
        rt.close()
    if ids:
        print(f"guardid serve: {len(ids)} enrolment session(s) open longer than "
              f"{settings.enrolment_session_ttl_h:g} h closed as expired", flush=True)


def _schema_ready(url: str) -> bool:
    """True when the database is at this code's schema; else say what to run (stderr)."""
    import sys

    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import make_engine

    engine = make_engine(url)
    try:
        current = migrate.current_revision(engine)
        if migrate.is_current(engine):
            return True
    except SQLAlchemyError as exc:
        print(f"guardid serve: cannot open the database ({type(exc).__name__}); check "
              "GUARDID_DATABASE_URL and that the server is up", file=sys.stderr)
        return False
    finally:
        engine.dispose()
    state = "has never been migrated" if current is None else f"is at revision {current}"
    print(f"guardid serve: the database {state}, not at this version's schema.\n"
          "Run `guardid migrate` first (it upgrades the schema and the keyring), then "
          "`guardid serve` again.", file=sys.stderr)
    return False


def serve_environment(env: MutableMapping[str, str], *, workers: int, cores: int) -> None:
    """Fill in the compute defaults of `guardid serve` that ``env`` does not set.

    Done before the settings are read and before any numeric library loads (the processes
    started later inherit the environment): probes are computed by one process per core, and
    no process's numeric libraries take more than their share of the cores. OpenMP (FAISS)
    reads OMP_NUM_THREADS once, at load, for every thread; a later omp_set_num_threads, as
    threadpoolctl calls it, reaches only the calling thread and not the request threads
    (measured: a 100k face search then took 14 ms of CPU on two threads instead of 2.5 ms).
    """
    env.setdefault("GUARDID_COMPUTE_PROCESSES", str(cores))
    pooled = int(env["GUARDID_COMPUTE_PROCESSES"]) > 0
    threads = env.setdefault("GUARDID_COMPUTE_THREADS",
                             "1" if pooled else str(max(1, cores // max(1, workers))))
    env.setdefault("OMP_NUM_THREADS", threads)


def _migrate(args: argparse.Namespace) -> int:
    from registry import identifiers

    rt = runtime()
    migrate.upgrade(rt.engine)
    print(f"database at revision {migrate.current_revision(rt.engine)}")
    # Post-upgrade steps need the keyring, so they run here and not inside a migration; the
    # audit keys come first, since the identifier step writes audit entries.
    audit_status = _adopt_audit_chain(rt)
    with rt.sessions() as session:
        report = identifiers.canonicalise_stored(db_session=session, vault=rt.vault,
                                                 actor=CLI_ACTOR)
    print("\n".join(report.lines()))
    # Not fatal by default: `guardid migrate && guardid serve` must not keep the city's
    # service down over a pair only a person can decide; each pair is in the audit log.
    strict_fail = args.strict and (report.duplicates or report.invalid)
    return 1 if strict_fail or audit_status else 0


def _adopt_audit_chain(rt: Runtime) -> int:
    """Add the audit keys to the keyring if absent; verify and re-seal an old plain chain."""
    from cli.audit_cmds import describe

    ring = rt.vault.keyring
    if ring.ensure_audit_keys():
        ring.save()
        rt.__post_init__()  # sessions made from now on carry the new chain key
        print("audit chain key and checkpoint key added to the keyring")
    report = rt.audit_trail.adopt_legacy()
    if not report.checked:
        return 0
    print(f"audit: {report.checked} entries of the plain SHA-256 chain re-sealed with the key")
    if report.ok:
        return 0
    print("the old chain was already broken before the upgrade (recorded in the entry "
          "audit.legacy_adopted):\n" + describe(report).split("\n", 1)[1])
    return 1


def _demo(_: argparse.Namespace) -> int:
    from fixtures import demo

    rt = runtime()
    with rt.sessions() as session:
        summary = demo.load(db_session=session, vault=rt.vault,
                            keys_file=rt.settings.var_dir / "demo-keys.txt")
    print(summary)
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    rt = runtime()
    with rt.sessions() as session:
        new = apikeys.create(db_session=session, role=Role(args.role), name=args.name,
                             district=args.district)
        audit.record(session, CLI_ACTOR, "apikey.create", resource_type="api_key",
                     resource_id=new.key_id, detail={"role": args.role, "district": args.district})
        session.commit()
    print(new.token)
    return 0


def _keys_list(_: argparse.Namespace) -> int:
    rt = runtime()
    with rt.sessions() as session:
        for k in apikeys.list_keys(db_session=session):
            state = "revoked" if k.revoked_at else "active"
            print(f"{k.id}\t{k.role.value}\t{k.district or '-'}\t{state}\t{k.name}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    rt = runtime()
    with rt.sessions() as session:
        apikeys.revoke(db_session=session, key_id=args.key_id)
        audit.record(session, CLI_ACTOR, "apikey.revoke", resource_type="api_key",
                     resource_id=args.key_id)
        session.commit()
    print(f"revoked {args.key_id}")
    return 0


def _rotate_master(args: argparse.Namespace) -> int:
    rt = runtime()
    ring = rt.vault.keyring
    new_id = ring.add_master_key()
    ring.save()  # saved first: running services find the new key on their next miss
    vault = Vault(Keyring.load(ring.path))
    with rt.sessions() as session:
        changed = vault.rewrap_all(session)
        audit.record(session, CLI_ACTOR, "keys.rotate_master", detail={"new": new_id,
                                                                       "rewrapped": changed})
        session.commit()
        if args.retire_old:
            from sqlalchemy import select

            from registry.models import DataKey

            used = set(session.scalars(select(DataKey.kek_id)))
            for kid in [k for k in ring.keys if k not in used and k != ring.active]:
                del ring.keys[kid]
            ring.save()
    print(f"master key {new_id} active; {changed} data keys re-wrapped")
    return 0


def _rotate_dek(_: argparse.Namespace) -> int:
    rt = runtime()
    with rt.sessions() as session:
        row = rt.vault.new_data_key(session)
        audit.record(session, CLI_ACTOR, "keys.rotate_data_key", detail={"data_key": row.id})
        session.commit()
    print(f"data key {row.id} active")
    return 0


def _db_ping(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from registry.db import make_engine, ping
    from registry.settings import get_settings

    url = args.url or get_settings().database_url
    try:
        ping(make_engine(url))
    except (SQLAlchemyError, OSError) as exc:
        return fail(f"database not reachable: {type(exc).__name__}", code=1)
    return 0
