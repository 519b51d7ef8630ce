"""Imports point down the house: governance ← data_sources ← layers, dashboard ← app.py / CLI; no circles.

Every module's imports are read with `ast` — at the top and inside functions alike, plus
`importlib.import_module("…")` / `__import__("…")` with a literal name — and an import of a higher
layer fails the test. A new top-level package or script must be given a layer here. Within and across
layers, no module may reach itself again through its imports (an import inside a function counts:
it hides a circle, it does not remove it).
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and the ones below, never one above.
LAYERS = {
    "governance": 0,     # the domain core: models, access, KPIs, warnings, accounts and API clients
    "data_sources": 1,   # feeds and jobs: connectors, pipeline, scheduler, push intake, health
    "demo_world": 1,     # seeding the demo world (a job, like the feeds it replays)
    "layers": 2,         # the map layers the web draws
    "dashboard": 2,      # the web: Dash pages, routes, components
    "app": 3,            # the command line and process entry points
    "wsgi": 3,
    "bench": 3,
    "devservers": 3,     # throwaway PostgreSQL and HTTP helpers for the tests and the benchmarks
    "migrations": 3,
}
# The domain's own floors, lowest first (governance/<package>/): a module may import its own package, the
# tables (governance.models) and the packages below, never one above.
DOMAIN = ("core", "accounts", "people", "figures", "events", "alerts", "reports", "console")
# Not part of the application: the test suite itself, environments, generated files.
SKIP_DIRS = {"tests", ".venv", "venv", "instance", "test-artifacts", "deploy", "scripts", "node_modules"}

# (importing module, imported module) pairs that point up, each with why it cannot be removed yet.
# Empty: push intake and health get the engine from the Flask app config (dashboard/app.py puts it
# there) instead of importing dashboard.runtime, and API clients live in governance/accounts/api_clients.py.
ALLOWED: dict[tuple[str, str], str] = {}


def layer_of(rel: Path) -> str:
    """The layer key of a module path relative to the root (its package, or its own name at the top)."""
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_names(source: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`, wherever it is."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module")))):
            found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(rel: Path, source: str) -> list[str]:
    """The imports of module `rel` that reach a higher layer (and are not allowed)."""
    own = LAYERS[layer_of(rel)]
    module = ".".join(rel.with_suffix("").parts)
    out = []
    for line, name in imported_names(source):
        target = name.split(".")[0]
        if target in LAYERS and LAYERS[target] > own and (module, name) not in ALLOWED:
            out.append(f"{rel}:{line} imports {name} ({target} is above {layer_of(rel)})")
    return out


def application_modules() -> list[Path]:
    """Every .py file of the application, relative to the root."""
    return sorted(p.relative_to(ROOT) for p in ROOT.rglob("*.py")
                  if not (set(p.relative_to(ROOT).parts[:-1]) & SKIP_DIRS)
                  and not any(part.startswith(".") for part in p.relative_to(ROOT).parts))


def test_every_module_has_a_layer():
    unplaced = sorted({str(rel) for rel in application_modules() if layer_of(rel) not in LAYERS})
    assert unplaced == [], "give these a layer in LAYERS"


def test_no_module_imports_a_higher_layer():
    modules = application_modules()
    assert len(modules) > 50 and Path("data_sources/push.py") in modules  # the scan itself works
    found = []
    for rel in modules:
        found += upward_imports(rel, (ROOT / rel).read_text(encoding="utf-8"))
    assert found == []


def test_allowed_exceptions_are_still_needed():
    for (module, name), why in ALLOWED.items():
        assert why, (module, name)
        rel = Path(*module.split(".")).with_suffix(".py")
        assert any(n == name for _, n in imported_names((ROOT / rel).read_text(encoding="utf-8"))), \
            f"{module} no longer imports {name}: drop it from ALLOWED"


@pytest.mark.parametrize("rel, source", [
    ("data_sources/planted.py", "from dashboard.runtime import current\n"),
    ("data_sources/planted.py", "def handler():\n    from dashboard.runtime import current\n    return current()\n"),
    ("governance/planted.py", "import data_sources.push\n"),
    ("governance/planted.py", "def f():\n    import importlib\n    return importlib.import_module('dashboard.app')\n"),
    ("layers/planted.py", "from app import main\n"),
])
def test_a_planted_upward_import_is_caught(rel, source):
    assert len(upward_imports(Path(rel), source)) == 1


def test_downward_and_sideways_imports_pass():
    assert upward_imports(Path("dashboard/planted.py"), "from layers import grid_tiles\nimport governance.core.db\n") == []
    assert upward_imports(Path("data_sources/planted.py"), "from .base import Source\nimport governance\n") == []


def module_name(rel: Path) -> str:
    """Dotted module name of a path relative to the root ("governance/models/__init__.py" → "governance.models")."""
    parts = rel.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module → the modules of `sources` it imports (relative imports resolved; `from pkg import mod` is mod).

    `sources` maps a module name to (its source, whether it is a package's __init__).
    """
    graph: dict[str, set[str]] = {}
    for name, (source, is_package) in sources.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(source)):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in sources else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                targets = [name_ for _, name_ in imported_names(ast.unparse(node))]
            edges |= {t for t in targets if t in sources and t != name}
        graph[name] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph`: its strongly connected parts of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(sorted(part))
    return found


def application_graph() -> dict[str, set[str]]:
    """The import graph of the application's own modules."""
    return import_graph({module_name(rel): ((ROOT / rel).read_text(encoding="utf-8"), rel.name == "__init__.py")
                         for rel in application_modules()})


def test_no_import_circles():
    graph = application_graph()
    assert "governance.models.base" in graph["governance.models"]  # relative imports are resolved
    assert "data_sources.leases" in graph["data_sources.people_jobs"]
    assert circles(graph) == []


@pytest.mark.parametrize("sources, expected", [
    ({"pkg.a": ("from .b import x\n", False), "pkg.b": ("def f():\n    from pkg.a import y\n", False)},
     [["pkg.a", "pkg.b"]]),
    ({"pkg": ("from . import a\n", True), "pkg.a": ("from pkg import b\n", False),
      "pkg.b": ("import pkg.c\n", False), "pkg.c": ("from .a import z\n", False)},
     [["pkg.a", "pkg.b", "pkg.c"]]),
    ({"pkg.a": ("from .b import x\n", False), "pkg.b": ("import os\n", False)}, []),
])
def test_a_planted_circle_is_caught(sources, expected):
    assert circles(import_graph(sources)) == expected


def test_the_tables_sit_at_the_bottom_of_the_domain():
    graph = application_graph()
    tables = {m for m in graph if m == "governance.models" or m.startswith("governance.models.")}
    assert len(tables) > 10
    reach_up = {m: sorted(t for t in graph[m] if t.startswith("governance.") and t not in tables) for m in tables}
    assert {m: up for m, up in reach_up.items() if up} == {}, "a table module imports domain logic"


def domain_package(module: str) -> str | None:
    """The governance package of a module ("governance.figures.kpis" → "figures"; the tables: "models")."""
    parts = module.split(".")
    return parts[1] if parts[0] == "governance" and len(parts) > 2 or parts[:2] == ["governance", "models"] else None


def upward_in_domain(graph: dict[str, set[str]]) -> list[str]:
    """Imports from one governance package into a package above it (the tables sit below everything)."""
    rank = {"models": -1, **{name: i for i, name in enumerate(DOMAIN)}}
    found = []
    for module, targets in graph.items():
        own = domain_package(module)
        for target in targets:
            other = domain_package(target)
            if own in rank and other in rank and rank[other] > rank[own]:
                found.append(f"{module} ({own}) imports {target} ({other})")
    return sorted(found)


def test_the_domain_packages_import_downwards():
    graph = application_graph()
    flat = sorted(m for m in graph if m.startswith("governance.") and m.count(".") == 1
                  and not (ROOT / "governance" / m.split(".")[1]).is_dir())
    assert flat == [], "put these in one of the domain packages"
    assert {domain_package(m) for m in graph if m.startswith("governance.")} - {None} == {"models", *DOMAIN}
    assert upward_in_domain(graph) == []


def test_a_planted_upward_import_in_the_domain_is_caught():
    graph = {"governance.figures.kpis": {"governance.events.dispatch", "governance.core.scope"},
             "governance.events.dispatch": {"governance.figures.kpis"}, "governance.core.scope": set(),
             "governance.models.base": {"governance.core.scope"}}
    assert upward_in_domain(graph) == ["governance.figures.kpis (figures) imports governance.events.dispatch (events)",
                                       "governance.models.base (models) imports governance.core.scope (core)"]


def blueprints_outside_the_web(sources: dict[str, str]) -> list[str]:
    """Modules outside dashboard/ that make a Flask Blueprint (the cockpit's HTTP routes belong to the web layer)."""
    return sorted(name for name, source in sources.items() if not name.startswith("dashboard")
                  and any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) == "Blueprint"
                          for n in ast.walk(ast.parse(source))))


def test_http_routes_live_in_the_web_layer():
    sources = {module_name(rel): (ROOT / rel).read_text(encoding="utf-8") for rel in application_modules()}
    assert any("Blueprint(" in s for n, s in sources.items() if n.startswith("dashboard"))  # the scan itself works
    assert blueprints_outside_the_web(sources) == []
    assert blueprints_outside_the_web({"data_sources.planted": "import flask\nbp = flask.Blueprint('x', __name__)\n",
                                       "dashboard.fine": "from flask import Blueprint\nbp = Blueprint('y', __name__)\n"}) \
        == ["data_sources.planted"]
