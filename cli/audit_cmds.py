"""CLI: the audit trail: verify the chain, sign a checkpoint for a witness, export its key."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.context import emit, runtime
from registry import checkpoints
from registry.audit import VerifyReport
from registry.checkpoints import write_private


def register(sub: argparse._SubParsersAction) -> None:
    """Add the audit commands to the CLI."""
    a = sub.add_parser("audit", help="audit log").add_subparsers(dest="audit_cmd", required=True)
    v = a.add_parser("verify", help="seal, then verify the keyed chain and its checkpoints")
    v.add_argument("--json", action="store_true")
    v.add_argument("--checkpoint", action="append", default=[], type=Path, metavar="FILE",
                   help="also check a checkpoint kept by an external witness (repeatable)")
    v.set_defaults(func=_verify)
    c = a.add_parser("checkpoint", help="seal, then sign the head for an external witness")
    c.add_argument("--out", type=Path, default=None, help="also write it to FILE (0600)")
    c.add_argument("--json", action="store_true", help="print only the checkpoint JSON")
    c.set_defaults(func=_checkpoint)
    k = a.add_parser("public-key", help="print the checkpoint public key (PEM) for a witness")
    k.add_argument("--out", type=Path, default=None)
    k.set_defaults(func=_public_key)


def _witnessed(paths: list[Path]) -> list[tuple[str, checkpoints.Checkpoint | str]]:
    out: list[tuple[str, checkpoints.Checkpoint | str]] = []
    for path in paths:
        try:
            out.append((str(path), checkpoints.parse(path.read_text())))
        except (OSError, ValueError) as exc:
            out.append((str(path), str(exc)))
    return out


def describe(report: VerifyReport) -> str:
    """Return the verification outcome for people."""
    if report.ok:
        return (f"audit chain OK: {report.checked} entries, head {report.head_seq} "
                f"{report.head_hash}")
    lines = [f"  seq {p['seq'] if p['seq'] is not None else '-'}: {p['problem']}: "
             f"{p['message']}" for p in report.problems]
    more = report.problem_count - len(report.problems)
    return "audit chain BROKEN:\n" + "\n".join(lines) + (f"\n  ... {more} more" if more else "")


def _verify(args: argparse.Namespace) -> int:
    report = runtime().audit_trail.verify(_witnessed(args.checkpoint))
    emit({"ok": report.ok, "checked": report.checked, "head_seq": report.head_seq,
          "head_hash": report.head_hash, "unsealed": report.unsealed,
          "problem_count": report.problem_count, "problems": report.problems},
         as_json=args.json, text=describe(report))
    return 0 if report.ok else 1


def _checkpoint(args: argparse.Namespace) -> int:
    cp = runtime().audit_trail.checkpoint()
    if args.out:
        write_private(args.out, cp.to_json() + "\n")
    text = f"checkpoint of seq {cp.seq} {cp.hash} at {cp.at} (key {cp.key_id}):\n{cp.to_json()}"
    print(cp.to_json() if args.json else text)
    return 0


def _public_key(args: argparse.Namespace) -> int:
    pem = runtime().vault.keyring.checkpoint_public_pem()
    if args.out:
        args.out.write_text(pem)
    print(pem, end="")
    return 0
