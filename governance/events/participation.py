"""Rules of 吹哨报到 deadlines, 核实, riders' 积分 and drill hours, loaded from participation.yaml and validated."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from ..core.timeutil import to_local
from ..core.levels import LEVELS

RULES_FILE = Path(__file__).with_name("participation.yaml")


class ParticipationError(ValueError):
    """participation.yaml is invalid; the message names the entry."""


@dataclass(frozen=True)
class ParticipationRules:
    """Validated participation rules (see participation.yaml for their meaning)."""

    report_hours: dict            # severity → hours to 报到
    overdue_level: str
    verify_sources: tuple
    points_base: int
    points_by_severity: dict      # severity → points (overrides the base)
    drill_start: str              # "HH:MM" local, inclusive
    drill_end: str                # "HH:MM" local, exclusive
    drill_weekdays: str
    drill_expiry_hours: float

    def report_deadline(self, severity: int, whistled_at: datetime) -> datetime:
        """When a department whistled in at `whistled_at` must have 报到'd, by the event's severity."""
        hours = self.report_hours.get(int(severity or 1), max(self.report_hours.values()))
        return whistled_at + timedelta(hours=hours)

    def points_for(self, severity: int) -> int:
        """Points a verified report of this severity earns its rider."""
        return int(self.points_by_severity.get(int(severity or 1), self.points_base))

    def drill_allowed(self, now: datetime) -> bool:
        """Whether a drill may start at the (naive UTC) moment `now`."""
        local = to_local(now)
        return (str(local.isoweekday()) in self.drill_weekdays
                and self.drill_start <= local.strftime("%H:%M") < self.drill_end)


def _hhmm(value, where: str) -> str:
    text = str(value)
    try:
        datetime.strptime(text, "%H:%M")
    except ValueError as exc:
        raise ParticipationError(f"{where}: {text!r} is not HH:MM") from exc
    return text


def parse_participation(doc: dict) -> ParticipationRules:
    """Validate a parsed participation document; ParticipationError names the faulty entry."""
    try:
        w, v, p, d = doc["whistle"], doc["verification"], doc["points"], doc["drills"]
        report = {int(k): float(h) for k, h in w["report_hours"].items()}
        if not report or any(h <= 0 for h in report.values()) or set(report) - {1, 2, 3, 4}:
            raise ParticipationError("whistle.report_hours: positive hours for severities 1–4")
        if w["overdue_level"] not in LEVELS[1:]:
            raise ParticipationError(f"whistle.overdue_level must be one of {LEVELS[1:]}")
        start, end = (_hhmm(x, "drills.allowed_hours") for x in d["allowed_hours"])
        if start >= end:
            raise ParticipationError("drills.allowed_hours: start must be before end")
        days = str(d.get("allowed_weekdays", "1234567"))
        if not days or set(days) - set("1234567"):
            raise ParticipationError("drills.allowed_weekdays: digits 1–7")
        rules = ParticipationRules(
            report_hours=report, overdue_level=str(w["overdue_level"]), verify_sources=tuple(v["sources"]),
            points_base=int(p["verified_report"]),
            points_by_severity={int(k): int(n) for k, n in (p.get("by_severity") or {}).items()},
            drill_start=start, drill_end=end, drill_weekdays=days, drill_expiry_hours=float(d["expiry_hours"]))
    except KeyError as exc:
        raise ParticipationError(f"missing setting {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParticipationError):
            raise
        raise ParticipationError(f"malformed value: {exc}") from exc
    if rules.points_base < 0 or any(n < 0 for n in rules.points_by_severity.values()):
        raise ParticipationError("points: never negative")
    if rules.drill_expiry_hours <= 0:
        raise ParticipationError("drills.expiry_hours must be positive")
    return rules


@lru_cache(maxsize=2)
def load_participation(path: Path = RULES_FILE) -> ParticipationRules:
    """Load and validate participation.yaml (cached)."""
    with open(path, encoding="utf-8") as fh:
        return parse_participation(yaml.safe_load(fh))
