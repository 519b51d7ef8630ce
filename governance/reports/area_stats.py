"""Per-area figures for the choropleth metrics, rolled up from micro-grids to any level."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..people import people_stats

from ..figures import scope_rollups
from ..figures.rollups import counts_by_path, local_day
from ..figures.kpis import MIN_SAMPLE, period_bounds
from ..models import Area
from ..core.scope import subtree
from ..alerts.warning_eval import evaluate_scope
from ..alerts.warnings import Rules
from ..core.workflow import OPEN_STATES

METRICS = {
    "warning": "预警等级",
    "open": "在办事件",
    "closure": "办结率",
    "per100": "每百户事件",
}
METRICS.update(people_stats.METRICS)  # 常住人口, 户数, 特殊人群, 出租房, 经营场所 (people registry, #19)
# MIN_SAMPLE (governance.figures.kpis): areas with fewer events in the period are not ranked or rated


@dataclass
class AreaFigures:
    """Figures of one area for a period."""

    code: str
    name: str
    households: int
    open: int = 0
    received: int = 0
    closed: int = 0
    warning: str = "none"
    warning_reasons: tuple = ()  # what is wrong: its own events (a micro-grid) or its micro-grids' share
    people: dict = field(default_factory=dict)  # people registry counts (governance.people.people_stats)

    @property
    def closure(self) -> float | None:
        """办结率 in percent, None under the minimum sample."""
        return 100.0 * self.closed / self.received if self.received >= MIN_SAMPLE else None

    @property
    def per100(self) -> float | None:
        """Events in the period per 100 households."""
        return 100.0 * self.received / self.households if self.households else None

    def value(self, metric: str):
        """The value a metric colours this area by (people counts of 1–2 read as 1: shown "<3")."""
        if metric in people_stats.METRICS:
            return people_stats.shown_count(self.people.get(metric, 0))
        return getattr(self, metric)


def child_figures(conn: Connection, parent_path: str, child_level: str, period: str,
                  now: datetime, rules: Rules, warnings=None, people=None) -> dict[str, AreaFigures]:
    """Figures for every child area of `child_level` under a parent, for the period.

    `warnings` may carry an already computed evaluation of the same scope (it is reused); `people`, a
    function like people_stats.child_totals (e.g. one that caches its answers).
    """
    children = conn.execute(select(Area.code, Area.name, Area.path, Area.households)
                            .where(subtree(Area.path, parent_path), Area.level == child_level)).all()
    if not children:
        return {}
    segments = children[0].path.count("/") - 1
    out = {c.code: AreaFigures(c.code, c.name, c.households or 0) for c in children}
    start, end = period_bounds(period, now)  # the period starts at a local midnight: whole rollup days
    if child_level in scope_rollups.LEVELS:  # communities and above: their own rows
        counts = scope_rollups.children_counts(conn, [c.path for c in children], local_day(start), local_day(end))
        rows = [(path, *figures) for path, figures in counts.items()]
    else:
        rows = counts_by_path(conn, parent_path, local_day(start), local_day(end), OPEN_STATES)
    for path, open_n, received, closed in rows:
        parts = (path or "").strip("/").split("/")
        if len(parts) >= segments and parts[segments - 1] in out:
            f = out[parts[segments - 1]]
            f.open += open_n
            f.received += received
            f.closed += closed
    for code, counts in (people or people_stats.child_totals)(conn, parent_path, segments).items():
        if code in out:
            out[code].people = counts
    warnings = warnings or evaluate_scope(conn, parent_path, now, rules)
    if child_level in GRID_LEVELS:
        colours = {p.strip("/").split("/")[-1]: c for p, c in warnings.grids.items()}
    else:
        colours = warnings.rollup_reasons(segments, rules, grids_under(conn, parent_path, segments))
    for code, (level, reasons) in colours.items():
        if code in out:
            out[code].warning = level
            out[code].warning_reasons = tuple(reasons)
    return out


GRID_LEVELS = ("micro_grid", "dedicated_grid")


def grids_under(conn: Connection, parent_path: str, segments: int) -> dict[str, int]:
    """How many micro-grids (and dedicated grids) lie under each area `segments` codes deep below a parent."""
    out: dict[str, int] = defaultdict(int)
    for (path,) in conn.execute(select(Area.path).where(subtree(Area.path, parent_path),
                                                        Area.level.in_(GRID_LEVELS))):
        parts = path.strip("/").split("/")
        if len(parts) >= segments:
            out[parts[segments - 1]] += 1
    return dict(out)


def ranking(figures: dict[str, AreaFigures], limit: int = 8) -> list[AreaFigures]:
    """Areas ranked by closure rate, lowest first, ignoring those under the minimum sample."""
    rated = [f for f in figures.values() if f.closure is not None]
    return sorted(rated, key=lambda f: (f.closure, -f.received))[:limit]
