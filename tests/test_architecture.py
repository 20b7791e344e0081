"""The layout rules of the README hold: no import cycle between domains, none imports ``api``.

Every import counts, at module level or inside a function: a lazy import is still a
dependency, only a later one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The packages below the composition root; api, cli, bench and bootstrap sit above them.
DOMAINS = ("biometrics", "devices", "enrollment", "fixtures", "inspection", "matching",
           "registry", "reporting", "violations")
ABOVE = {"api", "bench", "bootstrap", "cli"}


def _imports(package: str) -> dict[str, list[str]]:
    """Return {top-level guardid module imported: [file:line, ...]} for one package."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names} & (set(DOMAINS) | ABOVE) - {package}:
                found[top].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of ``graph`` as a path of nodes, or None when it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_domains_import_downward_only():
    """No domain imports api, cli, bench or bootstrap, and no two domains import each other
    (directly or round a longer cycle)."""
    edges = {d: _imports(d) for d in DOMAINS}
    upward = {f"{d} -> {top}": where for d, e in edges.items()
              for top, where in e.items() if top in ABOVE}
    assert upward == {}
    cycle = _cycle({d: set(e) & set(DOMAINS) for d, e in edges.items()})
    where = {f"{a} -> {b}": edges[a][b][:3] for a, b in
             zip(cycle, cycle[1:], strict=False)} if cycle else {}
    assert cycle is None, where


def test_routers_call_services_only():
    """A router parses, calls a service and returns a schema: no query builder, no table
    class, no use of the database session beyond handing it to a service."""
    import importlib

    from registry.models import Base

    found = []
    for path in sorted((ROOT / "api" / "routers").glob("*.py")):
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "sqlalchemy" or node.module.startswith("sqlalchemy.orm"):
                    found.append(f"{where}:{node.lineno} imports {node.module}")
                elif node.module.split(".")[0] in DOMAINS:
                    module = importlib.import_module(node.module)
                    found += [f"{where}:{node.lineno} imports table {a.name}"
                              for a in node.names if isinstance(t := getattr(module, a.name,
                                                                             None), type)
                              and issubclass(t, Base)]
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id in ("session", "db_session")):
                found.append(f"{where}:{node.lineno} session.{node.attr}")
    assert found == []


# The tables only biometrics/ writes: its models, built, inserted or updated anywhere else.
BIOMETRIC_TABLES = {"Biometric", "TemplateChange"}


def _writes_of(tree: ast.AST) -> list[int]:
    """Return the lines of ``Model(...)``, ``insert(Model)`` and ``update(Model)`` calls
    of a biometric table."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        if name in BIOMETRIC_TABLES:
            lines.append(node.lineno)
        elif name in {"insert", "update"} and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in BIOMETRIC_TABLES:
            lines.append(node.lineno)
    return lines


def test_only_biometrics_writes_biometric_rows():
    """Every other domain (fixtures included) writes biometrics through biometrics.writer."""
    offenders = [f"{path.relative_to(ROOT)}:{line}"
                 for package in set(DOMAINS) - {"biometrics"} | ABOVE - {"bootstrap"}
                 for path in sorted((ROOT / package).rglob("*.py"))
                 for line in _writes_of(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == []
