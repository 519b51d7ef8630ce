"""Documentation keeps up with the code: the README and docs/ name every setting, route and command.

The README is the front door (the two commands, what it is, screens, settings, layout, how to add
things, the path of one event); docs/*.md hold the rest. Together they must name every setting
(`governance/core/config.py:SETTINGS_DOC`), every Flask route of `dashboard/auth.py:ROUTE_ACCESS` by its
URL rule, and every command of `python app.py`.
"""
import importlib
import pkgutil
import re
from pathlib import Path

import flask

from app import build_parser
from dashboard.auth import ROUTE_ACCESS
from governance.core.config import SETTINGS_DOC

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
ALL_DOCS = "\n".join([README, *DOCS.values()])
# Dash's own endpoints and rules (assets, component suites, layout, callbacks, page HTML): the
# framework's, not the cockpit's API; ROUTE_ACCESS lists them only so that nothing is unlisted.
DASH_OWN = {"static", "_dash_assets.static", "/", "/<path:path>"}


def _env_names_read_by_code() -> set[str]:
    names = set()
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        src = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"env(?:iron)?\.get\(\s*\"([A-Z_]+)\"", src))
        names |= set(re.findall(r"environ\[\"([A-Z_]+)\"\]", src))
    return names


def _flask_rules() -> dict[str, set[str]]:
    """Endpoint -> URL rules of every blueprint the web and feed packages define (no Dash app built:
    Dash keeps pages process-global)."""
    app = flask.Flask("docs-check")
    for package in ("dashboard", "data_sources"):
        for info in pkgutil.iter_modules([str(ROOT / package)]):
            module = importlib.import_module(f"{package}.{info.name}")
            for value in vars(module).values():
                if isinstance(value, flask.Blueprint) and value.name not in app.blueprints:
                    app.register_blueprint(value)
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.endpoint, set()).add(rule.rule)
    return rules


def _rule_pattern(rule: str) -> re.Pattern:
    """A URL rule as documentation writes it: any placeholder name (`<code>` for `<string:code>`)."""
    parts = re.split(r"<[^>]+>", rule)
    return re.compile("<[^<>\\s]+>".join(re.escape(p) for p in parts) + r"(?![\w/.-])")


def test_every_setting_read_is_declared():
    read = _env_names_read_by_code()
    assert "DATABASE_URL" in read  # the scan itself works
    assert read <= set(SETTINGS_DOC)


def test_every_declared_setting_is_documented_in_readme():
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in README]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    block = README.split("```")[1]
    assert "make run" in block and "make test" in block


def test_readme_is_a_front_door_and_points_to_every_doc():
    assert 150 <= len(README.splitlines()) <= 250
    for heading in ("## Running it", "### Settings", "## The screens", "## Layout", "## How to add",
                    "## The path of one event"):
        assert heading in README, heading
    assert {"feeds.md", "access.md", "deployment.md", "benchmarks.md"} <= set(DOCS)
    assert [name for name in DOCS if f"(docs/{name})" not in README] == []


def test_every_flask_route_is_documented():
    rules = _flask_rules()
    assert "/api/v1/events" in rules.get("push.push_events", set())  # the scan itself works
    missing, unknown = [], []
    for key in ROUTE_ACCESS:
        if key in DASH_OWN or key.startswith("/_"):
            continue
        if key not in rules:
            unknown.append(key)
            continue
        missing += [f"{key}: {rule}" for rule in sorted(rules[key]) if not _rule_pattern(rule).search(ALL_DOCS)]
    assert unknown == [], "ROUTE_ACCESS names endpoints no blueprint defines"
    assert missing == []


def test_every_command_is_documented():
    command = next(a for a in build_parser()._actions if a.dest == "command")
    assert "token" in command.choices  # the scan itself works
    missing = [c for c in command.choices
               if f"python app.py {c}" not in ALL_DOCS and not (c == command.default and "`python app.py`" in ALL_DOCS)]
    assert missing == []


def test_the_route_check_fails_on_an_undocumented_route():
    assert _rule_pattern("/api/v1/geo/<string:code>/<level>.pbf").search("`/api/v1/geo/<area>/<level>.pbf`")
    assert not _rule_pattern("/api/v1/events").search("`/api/v1/events.csv`")
    assert not _rule_pattern("/api/v1/secret/<int:n>").search(ALL_DOCS)


def named_code(text: str) -> tuple[set[str], set[str]]:
    """(file paths, dotted Python names) of the application's code that a text names."""
    roots = "governance|data_sources|dashboard|layers|demo_world|bench|devservers|tests"
    paths = set(re.findall(rf"\b((?:{roots})/[\w/]+\.(?:py|yaml|js|css))\b", text))
    dotted = set(re.findall(r"\b((?:governance|data_sources|dashboard|layers|demo_world)(?:\.\w+)+)", text))
    return paths, dotted


def resolves(dotted: str) -> bool:
    """True when a dotted name is a module, or an attribute reached from its longest importable module."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            node = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                node = getattr(node, attr)
        except AttributeError:
            return False
        return True
    return False


def test_the_code_the_docs_name_exists():
    """A file path or module.function named in the README or docs/ still exists (moves and renames included)."""
    paths, dotted = named_code(ALL_DOCS)
    assert len(paths) > 30 and len(dotted) > 5  # the scan itself works
    missing = sorted(p for p in paths if not (ROOT / p).exists() and "planted" not in p)
    unknown = sorted(d for d in dotted if not resolves(d))
    assert (missing, unknown) == ([], [])


def test_a_stale_name_in_the_docs_is_caught():
    paths, dotted = named_code("see `governance/kpis.py` and `governance.kpis.compute_kpis`, "
                               "not `governance/figures/kpis.py` or governance.figures.kpis.compute_kpis.")
    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == ["governance/kpis.py"]
    assert [d for d in sorted(dotted) if not resolves(d)] == ["governance.kpis.compute_kpis"]
