"""Request dependencies: the session, the vault, and authentication with role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from api.client_address import client_address
from bootstrap import Runtime
from registry import apikeys, audit
from registry.audit import Actor
from registry.crypto import Vault
from registry.exceptions import Forbidden
from registry.models import Role
from registry.settings import Settings


def get_runtime(request: Request) -> Runtime:
    """Return the runtime the lifespan built."""
    return request.app.state.runtime


def get_session(request: Request) -> Iterator[Session]:
    """Yield a database session for one request; uncommitted work is rolled back."""
    session = get_runtime(request).sessions()
    try:
        yield session
    finally:
        session.close()


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_vault(runtime: RuntimeDep) -> Vault:
    """Return the encryption vault."""
    return runtime.vault


def get_settings_dep(runtime: RuntimeDep) -> Settings:
    """Return the settings."""
    return runtime.settings


VaultDep = Annotated[Vault, Depends(get_vault)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def authenticate(request: Request, session: SessionDep) -> Actor:
    """Return the caller's Actor; every endpoint except liveness depends on this."""
    runtime = get_runtime(request)
    client = client_address(request, runtime.proxies)
    actor = apikeys.authenticate(db_session=session, token=_token(request), client=client,
                                 policy=runtime.throttle)
    request.state.actor = actor
    # End the read transaction now: on SQLite every transaction holds the write lock, and the
    # route may spend a while on CPU work (face or finger extraction) before it writes.
    session.rollback()
    return actor


def require_role(*roles: Role) -> Callable[..., Actor]:
    """Return a dependency that admits only keys of ``roles`` (refusals are audited)."""
    allowed = frozenset(r.value for r in roles)

    def dependency(request: Request, session: SessionDep) -> Actor:
        actor = authenticate(request, session)
        if actor.role not in allowed:
            audit.record(session, actor, "auth.denied",
                         detail={"route": request.scope.get("route").path
                                 if request.scope.get("route") else request.url.path,
                                 "method": request.method}, district=actor.district)
            session.commit()
            raise Forbidden(f"role {actor.role} may not use this endpoint")
        return actor

    dependency.allowed_roles = allowed  # read by the role-matrix test and the docs
    return dependency


def role_dep(*roles: Role) -> type:
    return Annotated[Actor, Depends(require_role(*roles))]


Admin = role_dep(Role.admin)
Auditor = role_dep(Role.auditor)
AdminOrAuditor = role_dep(Role.admin, Role.auditor)
RegistryWriter = role_dep(Role.admin, Role.station)
RegistryReader = role_dep(Role.admin, Role.station, Role.inspector, Role.police)
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
