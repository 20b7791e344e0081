"""``guardid gallery sync|verify|rebuild --backend milvus``: operate the Milvus galleries."""

from __future__ import annotations

import argparse

from cli.context import CLI_ACTOR, emit, runtime
from registry import audit


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``gallery`` commands."""
    g = sub.add_parser("gallery", help="the external gallery backend (Milvus)").add_subparsers(
        dest="gallery_cmd", required=True)
    for name, func, text in (
            ("sync", _sync, "apply every change the indexer has not applied yet, then exit"),
            ("verify", _verify, "compare Milvus with the database (counts, a sample of ids)"),
            ("rebuild", _rebuild, "empty the Milvus collections and apply the whole feed")):
        p = g.add_parser(name, help=text)
        p.add_argument("--backend", choices=["milvus"], required=True,
                       help="the backend to operate (the embedded galleries live in each "
                       "server process and need no command)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "verify":
            p.add_argument("--sample", type=int, default=1000,
                           help="database ids checked to be in Milvus per modality")
        p.set_defaults(func=func)


def _milvus_runtime():  # noqa: ANN202
    """The runtime of the environment's settings with the Milvus backend selected."""
    rt = runtime()
    rt.settings = rt.settings.model_copy(update={"gallery_backend": "milvus"})
    return rt


def _sync(args: argparse.Namespace) -> int:
    rt = _milvus_runtime()
    ix = rt.new_indexer()
    try:
        n = ix.apply()
        leading = ix.active
    finally:
        ix.stop()
    if not leading:
        emit({"applied": 0, "active": False}, as_json=args.json,
             text="another process is the active indexer; nothing applied")
        return 1
    _audit(rt, "gallery.sync", {"applied": n})
    lags = {x.modality: x.changes for x in rt.indexer_lag()}
    emit({"applied": n, "lag": lags}, as_json=args.json,
         text=f"applied {n} change(s); still to apply: {lags}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from biometrics.milvus.verify import as_dict, verify

    rt = _milvus_runtime()
    with rt.sessions() as s:
        verdicts = verify(s, rt.milvus_store, sample=args.sample)
    ok = all(v.ok for v in verdicts)
    lines = [f"{v.modality}: database {v.database}, milvus {v.milvus}, missing {v.missing} "
             f"(of a sample), stale {v.stale}, indexer lag {v.lag_changes}"
             f" -> {'ok' if v.ok else 'MISMATCH'}" for v in verdicts]
    emit({"ok": ok, "galleries": [as_dict(v) for v in verdicts]}, as_json=args.json,
         text="\n".join(lines))
    return 0 if ok else 1


def _rebuild(args: argparse.Namespace) -> int:
    rt = _milvus_runtime()
    ix = rt.new_indexer()
    try:
        n = ix.rebuild()
    finally:
        ix.stop()
    if n is None:
        emit({"applied": 0, "active": False}, as_json=args.json,
             text="another process is the active indexer; stop it first")
        return 1
    _audit(rt, "gallery.rebuild", {"applied": n})
    emit({"applied": n}, as_json=args.json, text=f"rebuilt: applied {n} change(s)")
    return 0


def _audit(rt, action: str, detail: dict) -> None:  # noqa: ANN001
    """Record the command in the audit trail."""
    with rt.sessions() as s:
        audit.record(s, CLI_ACTOR, action, resource_type="gallery", detail=detail)
        s.commit()
