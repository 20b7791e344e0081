"""Tables of the inspection domain (on the shared declarative Base)."""

from registry.models import Base  # noqa: F401
