"""CLI for cron: `guardid report freeze` (the weekly table) and `guardid report snapshot`
(the daily coverage), both idempotent; `guardid report rebuild` rebuilds the dated guard state
reports read from the history (after loading records with plain SQL, say)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from cli.context import CLI_ACTOR, runtime


def register(sub: argparse._SubParsersAction) -> None:
    """Add the report commands."""
    rep = sub.add_parser("report", help="frozen reports (run from cron)").add_subparsers(
        dest="report_cmd", required=True)
    for name, helptext in (
            ("freeze", "freeze the weekly campaign table (last freeze day; default: today)"),
            ("snapshot", "freeze the coverage of a day that has ended (default: yesterday)")):
        p = rep.add_parser(name, help=helptext)
        p.add_argument("--date", type=dt.date.fromisoformat, help="a day (UTC)")
        p.add_argument("--unit", help="a district (default: the whole city)")
        p.set_defaults(func=_run, what=name)
    p = rep.add_parser("rebuild", help="rebuild the dated guard state (guard_spans) from history")
    p.set_defaults(func=_rebuild)


def _run(args: argparse.Namespace) -> int:
    from reporting import service
    from reporting.state import last_ended_day

    rt = runtime()
    call = service.freeze_week if args.what == "freeze" else service.snapshot_day
    # A daily snapshot is of a day that has ended; the weekly freeze takes the last freeze
    # weekday on or before its date.
    default = dt.datetime.now(dt.UTC).date() if args.what == "freeze" else last_ended_day()
    with rt.sessions() as session:
        out = call(db_session=session, settings=rt.settings, actor=CLI_ACTOR,
                   day=args.date or default, district=args.unit)
    rt.close()
    print(json.dumps(out, ensure_ascii=False))
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from reporting import spans

    rt = runtime()
    with rt.sessions() as session:
        written = spans.rebuild(session.connection())
        session.commit()
    rt.close()
    print(json.dumps({"spans": written}))
    return 0
