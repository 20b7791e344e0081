"""The Milvus Distributed deployment stays true without Docker: its compose file and guide name
only real settings, and the compose file hangs together (issue 23, docs/deploy-milvus.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "deploy" / "milvus" / "docker-compose.yml"
GUIDE = ROOT / "docs" / "deploy-milvus.md"
DOCKERFILE = ROOT / "Dockerfile"
PREFIX = Settings.model_config["env_prefix"].upper()
SETTING_NAMES = frozenset(PREFIX + name.upper() for name in Settings.model_fields)
# Any GUARDID_* word: an environment key, a list entry, a ${...} or $... reference, prose.
NAME = rf"(?<![A-Za-z0-9_]){PREFIX}[A-Za-z0-9_]+"
# Milvus 2.3's roles: IndexCoord was merged into DataCoord (milvus-io/milvus#21267).
MILVUS_ROLES = {"rootcoord", "datacoord", "querycoord", "proxy", "querynode", "datanode",
                "indexnode"}
MILVUS_IMAGE = "milvusdb/milvus:v2.3.5"


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    """Return the compose file parsed (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(path.read_text())


def names_in_text(text: str, *, any_case: bool = True) -> set[str]:
    """Return the GUARDID_* names written in ``text``, upper-cased.

    Settings read their variables case-insensitively, so a compose file is read in any case;
    prose is read upper-case only, where ``guardid_faces`` is a collection, not a variable.
    """
    flags = re.IGNORECASE if any_case else 0
    return {match.upper() for match in re.findall(NAME, text, flags=flags)}


def _strings(node: object) -> Iterator[str]:
    """Yield every string in a parsed YAML tree, mapping keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def environment(service: dict) -> dict[str, str | None]:
    """Return a service's environment as a mapping, from its map or its list form."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    pairs = (str(item).partition("=") for item in env)
    return {key: value if sep else None for key, sep, value in pairs}


def compose_names(compose: dict) -> set[str]:
    """Return every GUARDID_* name a compose file uses: environment keys and references."""
    found: set[str] = set()
    for service in (compose.get("services") or {}).values():
        found |= names_in_text(" ".join(environment(service)))
    for text in _strings(compose):
        found |= names_in_text(text)
    return found


def unknown_settings(names: Iterable[str]) -> set[str]:
    """Return the names that are not a field of ``Settings`` (case-insensitive)."""
    return {name.upper() for name in names} - SETTING_NAMES


def interpolated(value: str | None) -> str:
    """Return ``value`` with each ``${...}`` replaced by a placeholder, as Compose would fill it."""
    return re.sub(r"\$\{[^}]*\}", "secret", value or "")


def command_words(service: dict) -> list[str]:
    """Return a service's command as words, from its list or its string form."""
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(word) for word in command]


def milvus_role(service: dict) -> str | None:
    """Return the Milvus role a service runs (`milvus run ROLE`), else None."""
    words = command_words(service)
    return words[2] if words[:2] == ["milvus", "run"] and len(words) > 2 else None


def guardid_services(compose: dict) -> dict[str, dict]:
    """Return the services built from the repository's Dockerfile, by name."""
    return {name: service for name, service in compose["services"].items()
            if "build" in service or str(service.get("image", "")).startswith("guardid:")}


def depends_on(service: dict) -> set[str]:
    """Return the names a service depends on, from its list or its map form."""
    return set(service.get("depends_on") or ())


@pytest.fixture(scope="module")
def compose() -> dict:
    """Return the deployment's compose file, parsed once for the module."""
    return load_compose()


def test_every_guardid_name_in_the_compose_file_is_a_setting(compose):
    names = compose_names(compose) | names_in_text(COMPOSE_FILE.read_text())  # comments too
    assert {"GUARDID_GALLERY_BACKEND", "GUARDID_MILVUS_URI", "GUARDID_DATABASE_URL"} <= names
    assert unknown_settings(names) == set(), "GUARDID_* names that are not settings"


@pytest.mark.parametrize("service", [
    {"environment": {"GUARDID_NO_SUCH_SETTING": "1"}},
    {"environment": ["GUARDID_ENV=production", "GUARDID_NO_SUCH_SETTING=1"]},
    {"environment": ["guardid_no_such_setting"]},
    {"command": ["sh", "-c", "guardid serve --workers ${GUARDID_NO_SUCH_SETTING:-1}"]},
    {"healthcheck": {"test": ["CMD-SHELL", "test -n \"$GUARDID_NO_SUCH_SETTING\""]}},
], ids=["map", "list", "lower-case", "braced-reference", "bare-reference"])
def test_a_made_up_name_is_caught(service):
    assert unknown_settings(compose_names({"services": {"api": service}})) == {
        "GUARDID_NO_SUCH_SETTING"}


def test_real_names_pass_in_any_case():
    assert unknown_settings({"GUARDID_MILVUS_URI", "guardid_milvus_indexer"}) == set()
    assert unknown_settings(names_in_text("set `GUARDID_*` (any of them)")) == set()


def test_the_guardid_replicas_search_milvus_through_a_defined_proxy(compose):
    services = compose["services"]
    guardid = guardid_services(compose)
    servers = [name for name, s in guardid.items() if command_words(s)[:2] == ["guardid", "serve"]]
    assert len(servers) >= 2, "two guardid API replicas"
    for name, service in guardid.items():
        env = environment(service)
        assert env.get("GUARDID_GALLERY_BACKEND") == "milvus", name
        uri = urlsplit(interpolated(env.get("GUARDID_MILVUS_URI")))
        assert uri.hostname in services, f"{name}: {uri.hostname!r} is not a service"
        assert milvus_role(services[uri.hostname]) == "proxy", f"{name}: not the Milvus proxy"
        database = urlsplit(interpolated(env.get("GUARDID_DATABASE_URL")))
        assert database.scheme.startswith("postgresql") and database.hostname in services, name


def test_every_dependency_is_a_defined_service(compose):
    services = compose["services"]
    for name, service in services.items():
        assert depends_on(service) <= set(services), f"{name} depends on an undefined service"


def test_milvus_runs_the_2_3_roles_with_at_least_two_query_nodes(compose):
    services = compose["services"].values()
    roles = {milvus_role(s) for s in services} - {None}
    assert roles == MILVUS_ROLES
    query_nodes = sum((s.get("deploy") or {}).get("replicas", 1)
                      for s in services if milvus_role(s) == "querynode")
    assert query_nodes >= 2


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = str(service.get("image", ""))
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag and tag != "latest", f"{name}: {image!r} unpinned"
        if milvus_role(service):
            assert image == MILVUS_IMAGE, f"{name}: the test server is {MILVUS_IMAGE}"


def test_long_running_services_have_health_checks(compose):
    for name, service in compose["services"].items():
        if str(service.get("restart", "no")) == "no":
            continue  # one-shot jobs (the migration)
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_the_guide_names_only_real_settings():
    guide = GUIDE.read_text()
    names = names_in_text(guide, any_case=False)
    assert {"GUARDID_GALLERY_BACKEND", "GUARDID_MILVUS_INDEXER"} <= names
    assert unknown_settings(names) == set(), "the guide names settings that do not exist"
    assert "deploy/milvus/docker-compose.yml" in guide


def test_the_dockerfile_names_only_real_settings():
    """The image's environment and command name only real settings (a made-up GUARDID_*
    variable would be ignored silently by the settings object)."""
    names = names_in_text(DOCKERFILE.read_text())
    assert {"GUARDID_ENV", "GUARDID_KEYRING_FILE"} <= names
    assert unknown_settings(names) == set(), "the Dockerfile names settings that do not exist"


def test_a_made_up_name_in_prose_is_caught():
    prose = "set `GUARDID_MILVUS_URI` and `GUARDID_NO_SUCH_SETTING`; collection guardid_faces"
    assert unknown_settings(names_in_text(prose, any_case=False)) == {"GUARDID_NO_SUCH_SETTING"}
