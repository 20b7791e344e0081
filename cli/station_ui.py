"""What the station agent shows its operator: one live status line, and flush reports."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape

# Exit statuses of the station commands.
EXIT_OK = 0
EXIT_REFUSED = 1  # the server refused a bundle: it waits in failed/ for a fix
EXIT_CAPTURE_FAILED = 3  # no capture passed the gate: nothing was queued or sent


class StatusLine:
    """Live feedback on one line: rewritten in place on a terminal, and on a pipe or a
    file one line each time the text changes (never the same line twice in a row)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.last: str | None = None
        self.width = 0

    def __call__(self, text: str) -> None:
        """Show ``text`` as the current status (nothing happens if it is unchanged)."""
        if text == self.last:
            return
        self.last = text
        if self.tty:
            text = text[:max(20, shutil.get_terminal_size().columns - 1)]
            self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        """Leave the status line as it stands (a newline on a terminal) before other output."""
        if self.tty and self.last is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.last, self.width = None, 0


def fix_hint(bundle_id: str, reason: dict) -> str:
    """Return what the operator should run to fix and re-send a refused bundle."""
    step, code = reason.get("step", ""), reason.get("code", "")
    short = bundle_id[:8]
    if step == "face" or "face" in reason.get("message", ""):
        return (f"recapture the face and re-send: guardid station failed retry {short} "
                f"--camera …")
    if step.startswith("finger") or code == "incomplete_enrollment":
        return (f"recapture the fingers and re-send: guardid station failed retry {short} "
                f"--scanner-folder … (or --libfprint) --fingers 2,7")
    return (f"fix the cause, then re-send: guardid station failed retry {short}; or give up: "
            f"guardid station failed discard {short}")


def refusal_line(bundle_id: str, reason: dict) -> str:
    """Return one refused bundle as the operator reads it (markup escaped)."""
    closed = reason.get("session_id")
    session = "" if closed is None else (
        f"; server session {closed} closed" if reason.get("session_abandoned")
        else f"; server session {closed} still open (retry or discard closes it)")
    return (f"[red]bundle {bundle_id[:8]} refused at {escape(str(reason.get('step')))}: "
            f"{escape(str(reason.get('code')))}: {escape(str(reason.get('message')))}[/red]"
            f"{session}")


def report(console: Console, outcome, queue_folder: str) -> int:  # noqa: ANN001
    """Print what a flush sent, refused and left queued; return the exit status."""
    for r in outcome.sent:
        line = f"bundle {r.bundle_id[:8]}: {r.status} (guard {r.guard_id}, session {r.session_id})"
        if r.status == "review":
            line += (f": possible duplicate, review case {r.review_case_id} opened; the guard "
                     "is not enrolled until a supervisor decides")
        console.print(line)
    for f in outcome.failed:
        console.print(refusal_line(f.bundle_id, f.reason))
        console.print(f"  kept, encrypted, in {queue_folder}/failed/; "
                      f"{escape(fix_hint(f.bundle_id, f.reason))}")
    if outcome.remaining:
        console.print(f"[yellow]server unreachable: {outcome.remaining} enrolment(s) queued "
                      f"offline, encrypted; run `guardid station flush` later[/yellow]")
    if not (outcome.sent or outcome.failed or outcome.remaining):
        console.print("nothing to send: the queue is empty")
    console.print(f"sent {len(outcome.sent)}, refused {len(outcome.failed)}, "
                  f"waiting {outcome.remaining}")
    return EXIT_REFUSED if outcome.failed else EXIT_OK
