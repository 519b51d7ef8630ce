"""Missed 关爱走访 visits as grid warnings: the `visits` rules of governance/alerts/warning_rules.yaml.

A micro-grid with at least `count` visits open past their due time (visits.missed_visits) gets at least
the rule's level, with a reason naming how many. evaluate_scope (warning_eval.py) calls `apply` once per
evaluation, so the warning is raised, changed and cleared by the same lifecycle as every grid warning.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy.engine import Connection

from ..people.visits import missed_visits
from .warnings import LEVELS, RULES_FILE, RulesError, worst


@dataclass(frozen=True)
class MissedVisitRule:
    """At least `count` missed visits in a micro-grid make it at least `level`."""

    level: str
    count: int
    reason: str


def parse_rule(doc: dict | None) -> MissedVisitRule | None:
    """Validate the `visits.missed` entry (None when the file has none: the rule is off)."""
    entry = ((doc or {}).get("visits") or {}).get("missed")
    if not entry:
        return None
    if entry.get("level") not in LEVELS[1:] or int(entry.get("count", 0)) < 1:
        raise RulesError("visits.missed: need a level (blue/yellow/orange/red) and count ≥ 1")
    return MissedVisitRule(entry["level"], int(entry["count"]), str(entry.get("reason") or "关爱走访逾期未访"))


@lru_cache(maxsize=2)
def load_rule(path: Path = RULES_FILE) -> MissedVisitRule | None:
    """The missed-visit rule of a rules file (cached)."""
    with open(path, encoding="utf-8") as fh:
        return parse_rule(yaml.safe_load(fh))


def apply(conn: Connection, scope_path: str, now: datetime, grids: dict) -> None:
    """Raise the colour of micro-grids with missed visits in `grids` (path → (level, reasons)), in place."""
    rule = load_rule()
    if rule is None:
        return
    for path, n in missed_visits(conn, scope_path, now).items():
        if n >= rule.count:
            level, reasons = grids.get(path, ("none", []))
            grids[path] = (worst(level, rule.level), [*reasons, f"{rule.reason} {n} 户"])
