"""Shared plumbing for CLI commands: settings, runtime, and the CLI's audit identity."""

from __future__ import annotations

import json
import sys
from typing import Any

from bootstrap import Runtime, build_runtime
from registry.audit import Actor
from registry.settings import get_settings

CLI_ACTOR = Actor(key_id="cli", role="admin", client="local")


def runtime() -> Runtime:
    """Build the runtime (database, keyring) from the environment's settings."""
    return build_runtime(get_settings())


def emit(payload: dict[str, Any], *, as_json: bool, text: str) -> None:
    """Print ``payload`` as one JSON object, or ``text`` for people."""
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        print(text)


def fail(message: str, code: int = 2) -> int:
    """Print an error for people and return the exit code."""
    print(f"guardid: {message}", file=sys.stderr)
    return code


def subgroup(sub: Any, name: str, help_text: str) -> Any:
    """Return the sub-command group ``name`` (e.g. ``eval``), creating it on first use.

    Several modules add commands to one group (``eval face``, ``eval finger``).
    """
    parser = sub.choices.get(name) or sub.add_parser(name, help=help_text)
    if not hasattr(parser, "_guardid_sub"):
        parser._guardid_sub = parser.add_subparsers(dest=f"{name}_cmd", required=True)
    return parser._guardid_sub
