"""The one registry of feeds: which sources exist and how each is configured."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import yaml

from governance.core.config import PROJECT_ROOT

from .base import Source, mappings


def _connectors() -> dict[str, type[Source]]:
    """Source name -> connector class, as mappings.yaml declares them (`connector: module:Class`)."""
    found: dict[str, type[Source]] = {}
    for name, table in mappings().items():
        module_name, _, class_name = str((table or {}).get("connector") or "").partition(":")
        if not class_name:
            raise ImportError(f"data_sources/mappings.yaml: {name} needs `connector: module:Class`")
        cls = getattr(importlib.import_module(f"{__package__}.{module_name}"), class_name)
        if not (isinstance(cls, type) and issubclass(cls, Source)) or cls.name != name:
            raise ImportError(f"data_sources/mappings.yaml: {name}: {module_name}:{class_name} is not "
                              f"the Source named {name!r}")
        found[name] = cls
    return found


# Source name -> connector class. Adding a feed = one module + its entry in mappings.yaml + fixture + test.
CONNECTORS: dict[str, type[Source]] = _connectors()
SOURCE_ORDER: tuple[str, ...] = tuple(CONNECTORS)  # the order feeds are listed, stacked and coloured in
PULLED: tuple[str, ...] = tuple(n for n, cls in CONNECTORS.items() if cls.pulled)  # scheduled, not pushed
UNKNOWN_COLOUR = "#8A94A6"  # a source code no connector declares (e.g. 网格赶考 drills): neutral grey
PUSH_ACTOR_PREFIX = "推送:"  # how push intake records the pushing client as the actor ("推送:<client>")
DEFAULT_DROP_FOLDER = PROJECT_ROOT / "instance" / "safety-drop"


def source_label(code: str | None) -> str:
    """A source's Chinese name (群众诉求); an unknown code is shown as it is."""
    cls = CONNECTORS.get(code or "")
    return cls.label if cls else (code or "—")


def source_short(code: str | None) -> str:
    """A source's 2–4 character name for chips, legends and charts (诉求)."""
    cls = CONNECTORS.get(code or "")
    return cls.short_label if cls else (code or "—")


def source_colour(code: str | None) -> str:
    """A source's colour (hex), the same in chips, charts and legends."""
    cls = CONNECTORS.get(code or "")
    return cls.colour if cls else UNKNOWN_COLOUR


def actor_label(actor: str | None) -> str:
    """Who made a history entry, in Chinese: a feed by its label, a pushing client as 主动推送（client）."""
    if not actor:
        return "—"
    if actor in CONNECTORS:
        return source_label(actor)
    if actor.startswith(PUSH_ACTOR_PREFIX):
        return f"{source_label('push')}（{actor.removeprefix(PUSH_ACTOR_PREFIX)}）"
    return actor


class FeedConfigError(ValueError):
    """The feeds configuration is invalid; the message says where."""


def demo_config(simulator_url: str, drop_folder: Path = DEFAULT_DROP_FOLDER) -> dict:
    """Feed configuration pointing every pulled source at the local feed simulator."""
    return {
        "cases": {"url": f"{simulator_url}/cases", "interval": 15},
        "grid_events": {"url": f"{simulator_url}/dld", "interval": 15},
        "open311": {"url": f"{simulator_url}/open311/v2", "interval": 30},
        "safety": {"folder": str(drop_folder), "interval": 20},
        "street_sheets": {"url": f"{simulator_url}/sheets/events.csv", "interval": 20},
    }


def load_config(path: str | Path | None = None) -> dict | None:
    """Read the feeds YAML named by COCKPIT_FEEDS (or `path`); None when none is configured."""
    path = path or os.environ.get("COCKPIT_FEEDS")
    if not path:
        return None
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise FeedConfigError(f"{path}: top level must be a mapping of source name to settings")
    return doc


def pulled_connector(name: str) -> type[Source]:
    """The connector class of a pulled feed (FeedConfigError naming the known ones otherwise)."""
    if name not in PULLED:
        raise FeedConfigError(f"unknown pulled source {name!r}: expected one of {', '.join(PULLED)}")
    return CONNECTORS[name]


def build_sources(config: dict) -> list[Source]:
    """Instantiate the pulled sources of a configuration, validating it."""
    sources: list[Source] = []
    for name, opts in config.items():
        cls = pulled_connector(name)
        opts = dict(opts or {})
        if opts.pop("enabled", True) is False:
            continue
        interval = int(opts.pop("interval", 60))
        if interval < 1:
            raise FeedConfigError(f"{name}: interval must be at least 1 second")
        try:
            sources.append(cls.from_config(opts, interval))
        except (ValueError, TypeError, KeyError) as exc:
            raise FeedConfigError(str(exc)) from exc
    return sources
