"""A simulated day on a controlled clock: the demo feeds at their profile and the scheduler's jobs.

Used by tests/test_alarm_day.py (asserts the alarm figures of issue #18) and `python -m bench.alarms`
(prints them with their targets). The feed simulator is served on a local port and pulled over HTTP
by the real connectors, exactly as the demo does, but its clock and the scheduler's are one variable
that moves `step_minutes` at a time.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from werkzeug.serving import make_server

from governance.alerts.alarm_mgmt import load_alarm_rules
from governance.alerts.alarm_quality import TARGETS, alarm_quality
from governance.reports.area_stats import grids_under
from governance.models import Area, Event
from governance.alerts.warning_jobs import refresh_warnings
from governance.alerts.warning_store import scope_from_table
from governance.alerts.warnings import load_rules
from governance.core.workflow import OPEN_STATES

from .registry import build_sources, demo_config
from .scheduler import flush_rollups, run_source
from .simulator import FeedSimulator


@dataclass
class DayFigures:
    """What a simulated day produced (shares are fractions)."""

    hours: float
    new_events: int = 0
    open_events: int = 0
    overdue_share: float = 0.0
    red_share: float = 0.0           # of active warnings, mean of the hourly samples
    orange_share: float = 0.0
    red_share_max: float = 0.0
    orange_share_max: float = 0.0
    high_per_community_hour: float = 0.0
    flood_windows: int = 0
    windows: int = 0
    closed: int = 0
    closed_levels: dict = field(default_factory=dict)   # handling level → events closed that day
    red_communities: int = 0
    red_by_one_grid: int = 0         # communities red although only one of their micro-grids is
    supervised: int = 0
    escalated: int = 0


def _overdue(conn, now: datetime) -> tuple[int, int]:
    counted = (Event.duplicate_of_id.is_(None), Event.is_drill.is_(False), Event.status.in_(OPEN_STATES))
    open_n = conn.execute(select(func.count()).where(*counted)).scalar()
    late = conn.execute(select(func.count()).where(*counted, Event.due_at < now)).scalar()
    return open_n, late


def simulate_day(engine, start: datetime, drop: Path, hours: float = 24, step_minutes: int = 10,
                 seed: int = 1) -> DayFigures:
    """Run the feeds and the warning jobs from `start` for `hours` on a controlled clock; measure."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per simulated pull
    clock = [start]
    now = lambda: clock[0]  # noqa: E731
    sim = FeedSimulator(engine, drop, seed=seed, clock=now)
    server = make_server("127.0.0.1", 0, sim.wsgi(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sources = build_sources(demo_config(f"http://127.0.0.1:{server.server_port}", drop))
    for source in sources:  # a source that reads time itself (Open311's date window) reads this clock
        if hasattr(source, "clock"):
            source.clock = now
    with engine.connect() as conn:
        first_id = conn.execute(select(func.max(Event.id))).scalar() or 0
        sub_path = conn.execute(select(Area.path).where(Area.level == "subdistrict").order_by(Area.id)).scalars().first()
    figures = DayFigures(hours=hours)
    rules, arules = load_rules(), load_alarm_rules()
    samples = []
    try:
        steps = int(hours * 60 // step_minutes)
        for i in range(1, steps + 1):
            clock[0] = start + timedelta(minutes=step_minutes * i)
            sim.tick()
            for source in sources:
                run_source(engine, source, now)
            summary = refresh_warnings(engine, now())
            figures.escalated += summary["escalated"]
            if i % max(1, 60 // step_minutes) == 0:  # hourly sample of the action list's colours
                with engine.connect() as conn:
                    w = scope_from_table(conn, "/", now())
                listed = [lv for eid, (lv, _) in w.events.items() if eid not in w.hidden] + \
                    [lv for lv, _ in w.grids.values()]
                c = Counter(listed)
                total = max(len(listed), 1)
                samples.append((c["red"] / total, c["orange"] / total))
        flush_rollups(engine)
    finally:
        server.shutdown()
    end = now()
    with engine.connect() as conn:
        figures.new_events = conn.execute(select(func.count()).where(Event.id > first_id)).scalar()
        figures.open_events, late = _overdue(conn, end)
        figures.overdue_share = late / max(figures.open_events, 1)
        figures.closed_levels = dict(conn.execute(select(Event.handling_level, func.count()).where(
            Event.closed_at >= start, Event.closed_at <= end, Event.duplicate_of_id.is_(None),
            Event.is_drill.is_(False)).group_by(Event.handling_level)).all())
        figures.closed = sum(figures.closed_levels.values())
        q = alarm_quality(conn, "/", end, arules, hours=hours)
        w = scope_from_table(conn, "/", end)
        totals = grids_under(conn, sub_path, 4)
    figures.high_per_community_hour = q.high_per_community_hour
    figures.flood_windows, figures.windows, figures.supervised = q.flood_windows, q.windows, q.supervised
    figures.red_share = sum(r for r, _ in samples) / max(len(samples), 1)
    figures.orange_share = sum(o for _, o in samples) / max(len(samples), 1)
    figures.red_share_max = max((r for r, _ in samples), default=0.0)
    figures.orange_share_max = max((o for _, o in samples), default=0.0)
    red_grids = Counter(p.strip("/").split("/")[3] for p, (lv, _) in w.grids.items() if lv == "red"
                        and len(p.strip("/").split("/")) > 4)
    for code, (level, _) in w.rollup_reasons(4, rules, totals).items():
        if level == "red":
            figures.red_communities += 1
            figures.red_by_one_grid += red_grids.get(code, 0) <= 1
    return figures


def day_table(f: DayFigures) -> list[list[str]]:
    """Rows (figure, value, target, met) of a simulated day, as the test and the bench print them."""
    local = sum(n for lv, n in f.closed_levels.items() if lv in ("grid", "community"))
    local_share = local / f.closed if f.closed else 1.0
    per_hour = f.flood_windows / f.windows if f.windows else 0.0
    rows = [
        ("新增事件（24 小时）", f"{f.new_events}", "≈ 110 / 天", 60 <= f.new_events * 24 / f.hours <= 200),
        ("在办事件超期占比", f"{100 * f.overdue_share:.1f}%", "5–15%", 0.05 <= f.overdue_share <= 0.15),
        ("红色占在办预警（小时均值 / 最高）", f"{100 * f.red_share:.1f}% / {100 * f.red_share_max:.1f}%", "≤ 5%",
         f.red_share <= TARGETS["red_share"]),
        ("橙色占在办预警（小时均值 / 最高）", f"{100 * f.orange_share:.1f}% / {100 * f.orange_share_max:.1f}%",
         "≤ 15%", f.orange_share <= TARGETS["orange_share"]),
        ("新增红+橙 每社区每小时", f"{f.high_per_community_hour:.2f}", "≤ 6",
         f.high_per_community_hour <= TARGETS["new_high_per_community_hour"]),
        ("泛滥时段（10 分钟 > 10 条）", f"{f.flood_windows} / {f.windows}（{100 * per_hour:.2f}%）", "≤ 1%",
         per_hour <= TARGETS["flood_window_share"]),
        ("办结于网格/社区层级", f"{100 * local_share:.0f}%（{local}/{f.closed}）", "多数（> 50%）", local_share > 0.5),
        ("因单个微网格变红的社区", f"{f.red_by_one_grid} / {f.red_communities}", "0", f.red_by_one_grid == 0),
        ("转入督办 / 当日自动升级", f"{f.supervised} / {f.escalated}", "—", True),
    ]
    return [[a, b, c, "✓" if ok else "✗"] for a, b, c, ok in rows]
