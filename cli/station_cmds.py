"""CLI: `guardid station enrol` (the guided station flow), `guardid station flush`,
`guardid station failed list|show|retry|discard` (refused bundles), and `guardid station
reader` (the local reader service the station page captures through)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from cli import station_failed
from cli.station_ui import EXIT_CAPTURE_FAILED, EXIT_REFUSED, StatusLine, report

DEFAULT_QUEUE = Path("var/station-queue")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the station commands."""
    st = sub.add_parser("station", help="enrolment station agent").add_subparsers(
        dest="station_cmd", required=True)
    e = st.add_parser("enrol", help="capture a guard's face and fingers and enrol them")
    _common(e)
    cam = e.add_mutually_exclusive_group(required=True)
    cam.add_argument("--camera", help="OpenCV source: device index, RTSP/HTTP URL or video file")
    cam.add_argument("--camera-folder", type=Path, help="photos in a folder (demo device)")
    _scanner_args(e)
    e.add_argument("--fingers", default="2,7", help="ISO positions to capture (default 2,7)")
    e.add_argument("--guard-id", type=int)
    e.add_argument("--name")
    e.add_argument("--id-number")
    e.add_argument("--district")
    _capture_limits(e)
    e.set_defaults(func=_enrol)
    f = st.add_parser("flush", help="forward queued enrolments to the server")
    _common(f)
    f.set_defaults(func=_flush)
    station_failed.register(st)
    r = st.add_parser("reader", help="serve the fingerprint reader to the station page "
                      "(loopback only)")
    r.add_argument("--server", required=True,
                   help="the guardid server whose station page may use the reader (its origin)")
    _scanner_args(r)
    r.add_argument("--port", type=int, default=8765)
    r.set_defaults(func=_reader)


def _capture_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=20.0,
                   help="seconds to wait for a face that passes the gate (default 20)")
    # None: devices/autocapture.py's DEFAULT_MAX_FRAMES (not imported here: the CLI starts
    # fast without OpenCV).
    p.add_argument("--max-frames", type=int,
                   help="camera frames judged at most before giving up (default 300)")


def _scanner_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    scan = p.add_mutually_exclusive_group(required=required)
    scan.add_argument("--scanner-folder", type=Path, help="impressions in a folder (demo)")
    scan.add_argument("--libfprint", action="store_true", help="the first libfprint reader")


def _scanner(args: argparse.Namespace):  # noqa: ANN202
    from devices import FolderScanner, LibfprintScanner

    return LibfprintScanner() if args.libfprint else FolderScanner(args.scanner_folder)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=True)
    p.add_argument("--api-key", required=True)
    p.add_argument("--queue", type=Path, default=DEFAULT_QUEUE)


def _camera(args: argparse.Namespace):  # noqa: ANN202
    from devices import FolderCamera, OpenCVCamera

    return FolderCamera(args.camera_folder) if args.camera_folder else OpenCVCamera(
        args.camera)


def _guard(args: argparse.Namespace) -> dict | None:
    """Return the guard's ID-document data, asking for what the arguments lack."""
    if args.guard_id:
        return None
    return {"name": args.name or Prompt.ask("姓名 name"),
            "id_number": args.id_number or Prompt.ask("身份证号 ID number"),
            "district": args.district or Prompt.ask("辖区 district")}


def _encode(pixels, ext: str) -> bytes:  # noqa: ANN001
    import cv2

    img = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    ok, buf = cv2.imencode(ext, img)
    return buf.tobytes()


def _enrol(args: argparse.Namespace) -> int:
    from devices.agent import CaptureFailed, Forwarder, capture_bundle
    from devices.queue import OfflineQueue
    from matching.face import FaceEngine
    from matching.finger import FingerprintEngine

    console = Console()
    queue = OfflineQueue(args.queue)
    camera, scanner = _camera(args), _scanner(args)
    guard = _guard(args)
    status = StatusLine()
    try:
        with camera, scanner:
            bundle = capture_bundle(
                camera=camera, scanner=scanner, face_engine=FaceEngine(),
                finger_engine=FingerprintEngine(), guard=guard, guard_id=args.guard_id,
                positions=[int(p) for p in args.fingers.split(",") if p],
                encode=lambda px: _encode(px, ".jpg"),
                encode_finger=lambda px: _encode(px, ".png"),
                say=lambda m: (status.end(), console.print(m)), status=status,
                timeout_s=args.timeout, max_frames=args.max_frames)
    except CaptureFailed as exc:
        status.end()
        console.print(f"[red]not enrolled[/red]: {escape(exc.message)}. Nothing was queued "
                      "or sent: fix the capture and run the enrolment again.")
        return EXIT_CAPTURE_FAILED
    status.end()
    queue.put(bundle)
    console.print(f"[green]captures saved[/green] (bundle {bundle.id[:8]}), forwarding…")
    return report(console, Forwarder(args.server, args.api_key, queue).flush(),
                  str(args.queue))


def _flush(args: argparse.Namespace) -> int:
    from devices.agent import Forwarder
    from devices.queue import OfflineQueue

    queue = OfflineQueue(args.queue)
    console = Console()
    code = report(console, Forwarder(args.server, args.api_key, queue).flush(),
                  str(args.queue))
    waiting = len(queue.failed())
    if waiting:  # refused earlier and not yet fixed: the station still owes these
        console.print(f"[red]{waiting} refused bundle(s) wait in {args.queue}/failed/[/red]: "
                      "`guardid station failed list`")
        return EXIT_REFUSED
    return code


def _reader(args: argparse.Namespace) -> int:
    from urllib.parse import urlparse

    from devices.reader_service import ReaderService

    url = urlparse(args.server)
    origin = f"{url.scheme}://{url.netloc}"
    with _scanner(args) as scanner:
        service = ReaderService(scanner, allow_origin=origin, port=args.port)
        Console().print(f"reader served at {service.url} for pages of {origin} (Ctrl-C stops)")
        try:
            service.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            service.httpd.server_close()
    return 0
