"""Trend series for the cockpit: new vs closed per day and source, categories, 24-hour rhythm.

A community or a larger scope reads its scope rollups; a smaller scope reads its own events. Days are
Asia/Shanghai calendar days; "closed" counts events that are closed now, by the day they were closed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .kpis import counted_events, period_bounds
from . import rollups
from . import scope_rollups
from ..models import Category, Event
from .rollups import local_day
from ..core.timeutil import local_day_start, to_local

# Below a community the scope is the selective part: tell SQLite to walk the area-path index, not a time index.
_BY_PATH = (Event, "INDEXED BY ix_event_area_path", "sqlite")


def daily_new_closed(conn: Connection, scope_path: str, now: datetime, days: int = 30) -> dict:
    """Per local day of the last `days`: new events per source, and closed events (all sources)."""
    start = local_day_start(now, days - 1)
    day_keys = [to_local(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    new: dict[str, list[int]] = {}
    closed = [0] * days
    if scope_rollups.covers(scope_path):
        rollups.flush_if_queued(conn)
        first, last = local_day(start), local_day(now)
        for facet in ("status", "closed"):
            for (day, key), n in scope_rollups.facet_by_day(conn, scope_path, facet, first, last).items():
                idx = (day - first).days
                if facet == "closed":
                    closed[idx] += n
                else:
                    new.setdefault(key.split("|", 1)[0], [0] * days)[idx] += n
        return {"days": day_keys, "new": new, "closed": closed}
    base = counted_events(scope_path)
    for source, when in conn.execute(select(Event.source, Event.reported_at)
                                     .where(base, Event.reported_at >= start).with_hint(*_BY_PATH)):
        idx = (when - start).days
        if 0 <= idx < days:
            new.setdefault(source, [0] * days)[idx] += 1
    for (when,) in conn.execute(select(Event.closed_at).where(base, Event.status == "closed",
                                                              Event.closed_at >= start).with_hint(*_BY_PATH)):
        idx = (when - start).days
        if 0 <= idx < days:
            closed[idx] += 1
    return {"days": day_keys, "new": new, "closed": closed}


def category_breakdown(conn: Connection, scope_path: str, period: str, now: datetime,
                       limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent minor categories of the period, most frequent first."""
    start, end = period_bounds(period, now)
    if scope_rollups.covers(scope_path):
        rollups.flush_if_queued(conn)
        counts = scope_rollups.facet_sums(conn, scope_path, "category", local_day(start), local_day(end))
        names = dict(conn.execute(select(Category.code, Category.name).where(Category.code.in_(list(counts)))).all())
        ranked = sorted(((names.get(c, c), v[0]) for c, v in counts.items() if v[0]), key=lambda t: (-t[1], t[0]))
        return ranked[:limit]
    rows = conn.execute(select(Category.name, func.count()).select_from(Event)
                        .join(Category, Category.code == Event.category_code)
                        .where(counted_events(scope_path), Event.reported_at.between(start, end))
                        .with_hint(*_BY_PATH)
                        .group_by(Category.name).order_by(func.count().desc()).limit(limit)).all()
    return [(name, int(n)) for name, n in rows]


def hourly_rhythm(conn: Connection, scope_path: str, now: datetime, days: int = 90) -> list[int]:
    """New events per local hour of day over the last `days` local days (today included)."""
    hours = [0] * 24
    start = local_day_start(now, days - 1)
    if scope_rollups.covers(scope_path):
        rollups.flush_if_queued(conn)
        for key, (n, *_rest) in scope_rollups.facet_sums(conn, scope_path, "hour", local_day(start),
                                                         local_day(now)).items():
            hours[int(key)] += n
        return hours
    for (when,) in conn.execute(select(Event.reported_at).where(
            counted_events(scope_path), Event.reported_at >= start, Event.reported_at <= now).with_hint(*_BY_PATH)):
        hours[to_local(when).hour] += 1
    return hours
