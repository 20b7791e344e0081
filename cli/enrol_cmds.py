"""CLI: `guardid enrol import`: existing photos and fingerprints, mapped by a CSV, enrolled
through the station's gate and de-duplication, with a progress bar, resumable."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import zipfile
from pathlib import Path

from rich.progress import Progress

from bootstrap import Runtime
from cli.context import CLI_ACTOR, emit, runtime
from reporting.cells import csv_text

# A zip is unpacked only within these limits (a hostile archive is refused, not unpacked).
MAX_ARCHIVE_MEMBERS = 200_000
MAX_ARCHIVE_BYTES = 20 * 1024**3


def register(sub: argparse._SubParsersAction) -> None:
    """Add the enrolment commands."""
    enrol = sub.add_parser("enrol", help="enrolment tools").add_subparsers(
        dest="enrol_cmd", required=True)
    p = enrol.add_parser("import", help="bulk-import photos and fingerprints from a CSV")
    p.add_argument("source", type=Path, help="mapping CSV, or a .zip holding mapping.csv")
    p.add_argument("--state", type=Path, help="progress file (default: next to the CSV)")
    p.add_argument("--report", type=Path, help="per-item report CSV (default: next to it)")
    p.set_defaults(func=_import)
    x = enrol.add_parser("expire", help="close enrolment sessions left open longer than "
                         "GUARDID_ENROLMENT_SESSION_TTL_H (their captures are kept)")
    x.add_argument("--json", action="store_true", help="print the result as JSON")
    x.set_defaults(func=_expire)


def expire_stale_sessions(rt: Runtime) -> list[int]:
    """Expire the stale open enrolment sessions (audited); return their ids."""
    from enrollment.expiry import expire_stale

    with rt.sessions() as s:
        return expire_stale(s, CLI_ACTOR, rt.settings.enrolment_session_ttl_h)


def _expire(args: argparse.Namespace) -> int:
    rt = runtime()
    try:
        ids = expire_stale_sessions(rt)
    finally:
        rt.close()
    ttl = rt.settings.enrolment_session_ttl_h
    emit({"expired": ids, "ttl_h": ttl}, as_json=args.json,
         text=f"{len(ids)} enrolment session(s) open longer than {ttl:g} h closed as expired"
              + (f": {', '.join(map(str, ids))}" if ids else ""))
    return 0


def _unpack(archive: Path, into: Path) -> Path:
    """Unpack a zip safely and return its mapping CSV."""
    with zipfile.ZipFile(archive) as z:
        members = z.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS or sum(m.file_size for m in members) > \
                MAX_ARCHIVE_BYTES:
            raise SystemExit("guardid: the archive is larger than allowed")
        for m in members:
            target = (into / m.filename).resolve()
            if into.resolve() not in target.parents and target != into.resolve():
                raise SystemExit(f"guardid: archive member {m.filename} escapes the folder")
        z.extractall(into)
    found = sorted(into.rglob("mapping.csv"))
    if not found:
        raise SystemExit("guardid: the archive has no mapping.csv")
    return found[0]


def _save_state(path: Path, state: dict) -> None:
    """Write the progress file atomically (a crash leaves the old or the new one)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def _import(args: argparse.Namespace) -> int:
    from enrollment.bulk import ImportEngines, read_rows, safe_import_row

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = _unpack(args.source, Path(tmp)) if args.source.suffix == ".zip" \
            else args.source
        state_path = args.state or args.source.with_suffix(".import-state.json")
        report_path = args.report or args.source.with_suffix(".import-report.csv")
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        rt = runtime()
        engines = ImportEngines(face=rt.face_engine, finger=rt.finger_engine,
                                galleries=rt.galleries,
                                min_finger_quality=rt.settings.finger_min_quality)
        rows = list(read_rows(csv_path))
        with Progress() as bar:
            task = bar.add_task("importing", total=len(rows))
            for number, row, key in rows:
                if key not in state:
                    with rt.sessions() as session:
                        item = safe_import_row(session, vault=rt.vault, actor=CLI_ACTOR,
                                               engines=engines, root=csv_path.parent,
                                               number=number, row=row, row_key=key)
                    state[key] = item.__dict__
                    _save_state(state_path, state)
                bar.advance(task)
        rt.close()
    _write_report(report_path, [state[k] for _, _, k in rows])
    counts: dict[str, int] = {}
    for _, _, k in rows:
        counts[state[k]["status"]] = counts.get(state[k]["status"], 0) + 1
    print(f"imported {len(rows)} rows: {counts}; report: {report_path}")
    return 0


def _write_report(path: Path, items: list[dict]) -> None:
    """Write the per-item report."""
    rows = [["row", "id_number_masked", "status", "guard_id", "detail"]]
    rows += [[i["row"], i["id_number_masked"], i["status"], i["guard_id"] or "",
              "; ".join(i["detail"])] for i in items]
    path.write_text(csv_text(rows), encoding="utf-8", newline="")
