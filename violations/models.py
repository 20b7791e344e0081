"""Tables of the violations domain (on the shared declarative Base)."""

from registry.models import Base  # noqa: F401
