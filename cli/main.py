"""The ``guardid`` command: each module in COMMANDS adds its sub-commands."""

from __future__ import annotations

import argparse
import sys

from cli import (
    audit_cmds,
    cert_cmds,
    enrol_cmds,
    face_cmds,
    finger_cmds,
    gallery_cmds,
    registry_cmds,
    report_cmds,
    station_cmds,
)
from matching.exceptions import GuardidError
from registry.files import restrict_umask

DESCRIPTION = """\
guardid: biometric identity for licensed security guards. Enrol a guard's face and
fingerprints, check a guard at a post, and produce the police's coverage reports and
campaign table."""
EPILOG = """\
first steps:
  guardid migrate                  create or upgrade the database
  guardid demo load                load demo guards and write one API key per role
  guardid serve                    serve the API, the pages (/station, /inspect, /review,
                                   /dashboard) and the API documentation at /docs
  guardid keys create --role police --district 蓟州区   make an API key

every command takes --help; settings are GUARDID_* environment variables (README.md)."""

COMMANDS = [registry_cmds, audit_cmds, face_cmds, finger_cmds, cert_cmds, enrol_cmds,
            station_cmds, report_cmds, gallery_cmds]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every command registered."""
    parser = argparse.ArgumentParser(prog="guardid", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors print their code and message and exit 2."""
    restrict_umask()  # keys, databases, reports: whatever the CLI writes is owner-only
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GuardidError as exc:
        print(f"guardid: {exc.code}: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
