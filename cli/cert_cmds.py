"""``guardid cert sync`` and ``guardid cert verify``: e-certificates checked offline.

A verifier (an inspector's laptop, a gate terminal) syncs the published keys and the signed
revocation list while it has a network, then verifies tokens with no network at all.
The sync state lives in one folder: ``keys.json`` and ``revocations.json`` (the status of
every changed certificate and the last event seen, so the next sync fetches only news).
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from pathlib import Path
from typing import Any

from cli.context import emit, fail
from inspection import ecert

DEFAULT_DIR = Path("var/ecert-verifier")
TIMEOUT_S = 10


def register(sub: Any) -> None:
    """Add the ``cert`` commands."""
    cert = sub.add_parser("cert", help="electronic certificates: offline sync and verify")
    cs = cert.add_subparsers(dest="cert_command", required=True)
    s = cs.add_parser("sync", help="fetch public keys and new revocations from a server")
    s.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    s.add_argument("--api-key", required=True)
    s.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    s.set_defaults(func=sync)
    v = cs.add_parser("verify", help="verify a token offline against the synced state")
    v.add_argument("token")
    v.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=verify)


def _get(server: str, path: str, api_key: str) -> dict:
    """GET a JSON document from the server."""
    req = urllib.request.Request(server.rstrip("/") + path,
                                 headers={"Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 (URL is the user's)
        return json.loads(resp.read())


def _keys(folder: Path) -> dict[str, bytes]:
    """Return the synced public keys by kid."""
    doc = json.loads((folder / "keys.json").read_text())
    return {k["kid"]: ecert.b64d(k["public_key"]) for k in doc["keys"]}


def sync(args: argparse.Namespace) -> int:
    """Fetch keys, then every revocation page after the last one seen; refuse bad signatures."""
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    keys_doc = _get(args.server, "/certificates/keys", args.api_key)
    (folder / "keys.json").write_text(json.dumps(keys_doc))
    keys = _keys(folder)
    state_file = folder / "revocations.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {"until": 0,
                                                                            "status": {}}
    fetched = 0
    while True:
        page = _get(args.server, f"/certificates/revocations?since={state['until']}",
                    args.api_key)
        if not ecert.verify_revocation_list(page, keys):
            return fail("the revocation list's signature does not verify: nothing applied")
        state = {"until": page["until"], "status": ecert.apply_revocations(state["status"], page)}
        fetched += len(page["entries"])
        if page["complete"]:
            break
    state_file.write_text(json.dumps(state, ensure_ascii=False))
    print(f"synced {len(keys)} keys and {fetched} new status changes "
          f"({len(state['status'])} certificates not valid)")
    return 0


def verify(args: argparse.Namespace) -> int:
    """Verify one token offline; exit 0 when valid, 1 when not (the reason is printed)."""
    folder: Path = args.dir
    if not (folder / "keys.json").exists():
        return fail(f"no synced keys in {folder}: run `guardid cert sync` first")
    state_file = folder / "revocations.json"
    status = json.loads(state_file.read_text())["status"] if state_file.exists() else {}
    result = ecert.verify(args.token, _keys(folder), status)
    p = result.payload
    emit({"valid": result.valid, "reason": result.reason, "payload": p}, as_json=args.json,
         text=f"{'VALID' if result.valid else 'INVALID'} ({result.reason}): certificate "
              f"{p.get('cn')} {p.get('nm')} {p.get('emp') or ''}")
    return 0 if result.valid else 1
