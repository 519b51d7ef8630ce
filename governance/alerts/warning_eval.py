"""Evaluate the warning rules over the database: colours of open events, micro-grids, parents."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..figures.kpis import counted_events
from ..models import Event
from ..core.timeutil import local_day_start
from ..events.whistles import overdue_counts
from .visit_warnings import apply as missed_visit_warnings
from .warnings import RANK, EventFacts, Rules, event_colour, grid_colour, parent_warning, spike_level
from ..core.workflow import OPEN_STATES


# Recent-window queries read the window through the report-time index. Without statistics SQLite
# would rather walk the whole scope in GROUP BY order (10× slower for a sub-district); PostgreSQL's
# planner has statistics and decides by itself.
RECENT = "INDEXED BY ix_event_reported_at"


@dataclass
class ScopeWarnings:
    """Warnings of one scope: per open event, per micro-grid (path) and the reasons behind them."""

    events: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    grids: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # micro-grid path -> level
    event_grid: dict[int, str] = field(default_factory=dict)
    event_reported: dict[int, datetime] = field(default_factory=dict)  # open event -> reported at
    # Read from the warning table (governance/alerts/warning_store.py): events off the action list (shelved,
    # supervised 督办, inside a flood summary) and the warning row id of each event.
    hidden: set = field(default_factory=set)
    event_warning: dict[int, int] = field(default_factory=dict)
    off_list: dict[str, int] = field(default_factory=dict)   # "supervised" / "shelved" / "flooded" → count
    floods: list = field(default_factory=list)                # open flood summaries: (community path, level, reasons)

    def most_urgent(self, limit: int = 60, levels=("red", "orange")) -> list[int]:
        """Ids of warned events that need action now: most severe level first, then the most
        recently reported (a 紧急 gas leak reported a minute ago before a backlog of old ones)."""
        reported = getattr(self, "event_reported", None) or {}
        hidden = getattr(self, "hidden", None) or ()
        ids = [eid for eid, (lv, _) in self.events.items() if lv in levels and eid not in hidden]
        ids.sort(key=lambda eid: (-RANK[self.events[eid][0]], -_stamp(reported.get(eid)), -eid))
        return ids[:limit]

    def rollup(self, segments: int, rules: Rules, totals: dict[str, int] | None = None) -> dict[str, str]:
        """Colour per ancestor code at a depth of `segments` codes (from its micro-grids' colours)."""
        return {code: level for code, (level, _) in self.rollup_reasons(segments, rules, totals).items()}

    def rollup_reasons(self, segments: int, rules: Rules,
                       totals: dict[str, int] | None = None) -> dict[str, tuple[str, list[str]]]:
        """(colour, reasons) per ancestor code at a depth of `segments` codes, from the colours of the
        micro-grids under it; `totals` gives how many micro-grids each ancestor has in all (the
        share of warned ones is taken of those; default: only the grids that have a colour)."""
        children: dict[str, list[str]] = defaultdict(list)
        for path, (level, _) in self.grids.items():
            parts = path.strip("/").split("/")
            if len(parts) >= segments:
                children[parts[segments - 1]].append(level)
        totals = totals or {}
        return {code: parent_warning(levels, rules, totals.get(code)) for code, levels in children.items()}


def _stamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")


def evaluate_scope(conn: Connection, scope_path: str, now: datetime, rules: Rules) -> ScopeWarnings:
    """Colour every open event and every micro-grid with open events or a spike in a scope."""
    base = counted_events(scope_path)
    repeat_since = now - timedelta(days=rules.repeat_days)
    repeats = {(a, c): n for a, c, n in conn.execute(
        select(Event.area_id, Event.category_code, func.count())
        .where(base, Event.reported_at >= repeat_since)
        .group_by(Event.area_id, Event.category_code).having(func.count() >= rules.repeat_count)
        .with_hint(Event, RECENT, dialect_name="sqlite"))}
    rows = conn.execute(select(Event.id, Event.area_id, Event.area_path, Event.category_code,
                               Event.status, Event.severity, Event.reported_at, Event.due_at,
                               Event.dispatched_at, Event.accepted_at, Event.rework_count)
                        .where(base, Event.status.in_(OPEN_STATES))).all()
    out = ScopeWarnings()
    per_grid: dict[str, Counter] = defaultdict(Counter)
    late = overdue_counts(conn, scope_path, now)  # 吹哨 without 报到 past its deadline
    for r in rows:
        facts = EventFacts(r.status, r.severity, r.reported_at, r.due_at, r.dispatched_at,
                           r.accepted_at, repeats.get((r.area_id, r.category_code), 1), r.rework_count or 0,
                           late.get(r.id, 0))
        level, reasons = event_colour(facts, now, rules)
        out.events[r.id] = (level, reasons)
        out.event_reported[r.id] = r.reported_at
        if r.area_path:
            out.event_grid[r.id] = r.area_path
            per_grid[r.area_path][level] += 1
    spikes = grid_spikes(conn, scope_path, now, rules)
    for path in set(per_grid) | set(spikes):
        level, reasons = grid_colour(dict(per_grid.get(path, {})), rules, spikes.get(path, "none"))
        out.grids[path] = (level, reasons)
    missed_visit_warnings(conn, scope_path, now, out.grids)  # 关爱走访 逾期未访 (#19, warning_rules.yaml: visits)
    return out


def grid_spikes(conn: Connection, scope_path: str, now: datetime, rules: Rules) -> dict[str, str]:
    """Micro-grids whose new events today are far above their own daily baseline."""
    today = local_day_start(now)
    since = today - timedelta(days=rules.spike_baseline_days)
    base = counted_events(scope_path)
    today_counts = dict(conn.execute(select(Event.area_path, func.count()).where(
        base, Event.reported_at >= today).group_by(Event.area_path)
        .having(func.count() >= rules.spike_min_count).with_hint(Event, RECENT, dialect_name="sqlite")).all())
    if not today_counts:
        return {}
    history = dict(conn.execute(select(Event.area_path, func.count()).where(
        base, Event.reported_at >= since, Event.reported_at < today,
        Event.area_path.in_(list(today_counts))).group_by(Event.area_path)
        .with_hint(Event, RECENT, dialect_name="sqlite")).all())
    out = {}
    for path, observed in today_counts.items():
        mean = max(history.get(path, 0), 0.5) / rules.spike_baseline_days
        level, _p = spike_level(observed, mean, rules)
        if level != "none":
            out[path] = level
    return out
