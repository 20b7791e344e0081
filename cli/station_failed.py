"""CLI: `guardid station failed list|show|retry|discard`: bundles the server refused.

A refused bundle waits, encrypted, in the queue's ``failed/`` folder with the server's
code and message. The operator usually recaptures the refused part for the same person
(``retry ID --camera …`` for the face, ``--scanner-folder … --fingers 2,7`` for fingers)
and re-sends it; the bundle goes back in the queue as its next revision, so its requests
carry new idempotency keys and the server enrols the guard once.
"""

from __future__ import annotations

import argparse
import datetime as dt

from rich.console import Console
from rich.markup import escape

from cli.station_ui import (
    EXIT_CAPTURE_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    StatusLine,
    fix_hint,
    report,
)

EXIT_NOT_FOUND = 4  # no failed bundle matches the id given


def register(st: argparse._SubParsersAction) -> None:
    """Add `station failed` and its sub-commands."""
    from cli.station_cmds import DEFAULT_QUEUE, _capture_limits, _common, _scanner_args

    fa = st.add_parser("failed", help="bundles the server refused: list, show, fix and "
                       "re-send, or discard").add_subparsers(dest="failed_cmd", required=True)
    ls = fa.add_parser("list", help="list the refused bundles and why")
    ls.add_argument("--queue", default=DEFAULT_QUEUE)
    ls.set_defaults(func=_list)
    sh = fa.add_parser("show", help="show one refused bundle, its reason and how to fix it")
    sh.add_argument("bundle", help="bundle id (or its first characters)")
    sh.add_argument("--queue", default=DEFAULT_QUEUE)
    sh.set_defaults(func=_show)
    rt = fa.add_parser("retry", help="recapture what was refused (optional) and re-send")
    rt.add_argument("bundle", help="bundle id (or its first characters)")
    _common(rt)
    cam = rt.add_mutually_exclusive_group()
    cam.add_argument("--camera", help="recapture the face from this OpenCV source")
    cam.add_argument("--camera-folder", help="recapture the face from photos in a folder")
    _scanner_args(rt, required=False)
    rt.add_argument("--fingers", help="ISO positions to recapture (default: the bundle's)")
    _capture_limits(rt)
    rt.set_defaults(func=_retry)
    dc = fa.add_parser("discard", help="give a refused bundle up (its server session is "
                       "closed first)")
    dc.add_argument("bundle", help="bundle id (or its first characters)")
    _common(dc)
    dc.set_defaults(func=_discard)


def _open(args: argparse.Namespace):  # noqa: ANN202
    from devices.queue import OfflineQueue

    queue = OfflineQueue(args.queue)
    try:
        return queue, queue.find_failed(args.bundle)
    except KeyError as exc:
        Console().print(f"[red]{escape(str(exc.args[0]))}[/red]: `guardid station failed list`")
        return queue, None


def _who(bundle) -> str:  # noqa: ANN001
    """Return who a bundle enrols, as the operator recognises them (ID number masked)."""
    if bundle.guard_id:
        return f"guard {bundle.guard_id}"
    g = bundle.guard or {}
    return f"{g.get('name', '?')} (ID …{str(g.get('id_number', ''))[-4:]})"


def _list(args: argparse.Namespace) -> int:
    from devices.queue import OfflineQueue

    console, queue = Console(), OfflineQueue(args.queue)
    paths = queue.failed()
    for path in paths:
        bundle, reason = queue.load(path), queue.reason(path)
        at = dt.datetime.fromtimestamp(reason.get("at", 0)).strftime("%Y-%m-%d %H:%M")
        console.print(f"{bundle.id[:8]}  {at}  {escape(_who(bundle))}  "
                      f"{escape(str(reason.get('code')))}: "
                      f"{escape(str(reason.get('message')))}")
    console.print(f"{len(paths)} refused bundle(s)")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    console = Console()
    queue, path = _open(args)
    if path is None:
        return EXIT_NOT_FOUND
    bundle, reason = queue.load(path), queue.reason(path)
    console.print(f"bundle {bundle.id} (revision {bundle.revision}): {escape(_who(bundle))}")
    console.print(f"  face: {'yes' if bundle.face else 'no'}; fingers: "
                  f"{', '.join(map(str, sorted(bundle.fingers))) or 'none'}")
    for k in ("step", "status", "code", "message", "session_id", "session_abandoned"):
        console.print(f"  {k}: {escape(str(reason.get(k)))}")
    console.print(f"  {escape(fix_hint(bundle.id, reason))}")
    return EXIT_OK


def _close_session(forwarder, bundle, reason: dict, console: Console) -> bool:  # noqa: ANN001
    """Abandon the server session a refusal left open; False (said) when that failed."""
    if reason.get("session_id") is None or reason.get("session_abandoned"):
        return True
    if forwarder.abandon(reason["session_id"], bundle.key, str(reason.get("code"))):
        return True
    console.print(f"[yellow]could not close server session {reason['session_id']} (server "
                  "unreachable?): the bundle stays in failed/; try again later[/yellow]")
    return False


def _recapture(args: argparse.Namespace, bundle, console: Console) -> None:  # noqa: ANN001
    """Replace the face and/or fingers of ``bundle`` with new captures, as asked."""
    from cli.station_cmds import _encode, _scanner
    from devices import FolderCamera, OpenCVCamera
    from devices.agent import capture_face, capture_fingers

    if args.camera or args.camera_folder:
        from matching.face import FaceEngine

        camera = FolderCamera(args.camera_folder) if args.camera_folder else OpenCVCamera(
            args.camera)
        status = StatusLine()
        try:
            with camera:
                bundle.face = capture_face(
                    camera=camera, face_engine=FaceEngine(), status=status,
                    encode=lambda px: _encode(px, ".jpg"), timeout_s=args.timeout,
                    max_frames=args.max_frames)
        finally:
            status.end()
    if args.scanner_folder or args.libfprint:
        from matching.finger import FingerprintEngine

        positions = ([int(p) for p in args.fingers.split(",") if p] if args.fingers
                     else sorted(bundle.fingers))
        with _scanner(args) as scanner:
            bundle.fingers.update(capture_fingers(
                scanner=scanner, finger_engine=FingerprintEngine(), positions=positions,
                encode_finger=lambda px: _encode(px, ".png"), say=console.print,
                timeout_s=args.timeout))


def _retry(args: argparse.Namespace) -> int:
    from devices.agent import CaptureFailed, Forwarder

    console = Console()
    queue, path = _open(args)
    if path is None:
        return EXIT_NOT_FOUND
    bundle, reason = queue.load(path), queue.reason(path)
    try:
        _recapture(args, bundle, console)
    except CaptureFailed as exc:
        console.print(f"[red]not re-sent[/red]: {escape(exc.message)}; the bundle stays in "
                      "failed/ unchanged")
        return EXIT_CAPTURE_FAILED
    forwarder = Forwarder(args.server, args.api_key, queue)
    if not _close_session(forwarder, bundle, reason, console):
        return EXIT_REFUSED
    queue.requeue(path, bundle)
    console.print(f"bundle {bundle.id[:8]} re-queued as revision {bundle.revision}, "
                  "forwarding…")
    return report(console, forwarder.flush(), str(args.queue))


def _discard(args: argparse.Namespace) -> int:
    from devices.agent import Forwarder

    console = Console()
    queue, path = _open(args)
    if path is None:
        return EXIT_NOT_FOUND
    bundle, reason = queue.load(path), queue.reason(path)
    forwarder = Forwarder(args.server, args.api_key, queue)
    if not _close_session(forwarder, bundle, reason, console):
        return EXIT_REFUSED
    queue.discard(path)
    console.print(f"bundle {bundle.id[:8]} discarded ({escape(_who(bundle))} is not enrolled)")
    return EXIT_OK
