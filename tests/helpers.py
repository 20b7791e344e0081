"""Small helpers shared by tests."""

from __future__ import annotations


def auth(token: str) -> dict[str, str]:
    """Return the Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}
