"""Imports point down the house: governance ← data_sources ← layers, dashboard ← app.py / CLI.

Every module's imports are read with `ast` — at the top and inside functions alike, plus
`importlib.import_module("…")` / `__import__("…")` with a literal name — and an import of a higher
layer fails the test. A new top-level package or script must be given a layer here.
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
    "migrations": 3,
}
# Not part of the application: the test suite itself, environments, generated files.
SKIP_DIRS = {"tests", ".venv", "venv", "instance", "test-artifacts", "deploy", "scripts", "node_modules"}

# (importing module, imported module) pairs that point up, each with why it cannot be removed yet.
# Empty: push intake and health get the engine from the Flask app config (dashboard/app.py puts it
# there) instead of importing dashboard.runtime, and API clients live in governance/api_clients.py.
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
    assert upward_imports(Path("dashboard/planted.py"), "from layers import grid_tiles\nimport governance.db\n") == []
    assert upward_imports(Path("data_sources/planted.py"), "from .base import Source\nimport governance\n") == []
