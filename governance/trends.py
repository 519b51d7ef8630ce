"""Trend series for the cockpit: new vs closed per day and source, categories, 24-hour rhythm."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .kpis import counted_events, period_bounds
from .models import Category, Event
from .timeutil import local_day_start, to_local


def daily_new_closed(conn: Connection, scope_path: str, now: datetime, days: int = 30) -> dict:
    """Per local day of the last `days`: new events per source, and closed events (all sources)."""
    start = local_day_start(now, days - 1)
    base = counted_events(scope_path)
    day_keys = [to_local(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    new: dict[str, list[int]] = {}
    for source, when in conn.execute(select(Event.source, Event.reported_at)
                                     .where(base, Event.reported_at >= start)):
        idx = (when - start).days
        if 0 <= idx < days:
            new.setdefault(source, [0] * days)[idx] += 1
    closed = [0] * days
    for (when,) in conn.execute(select(Event.closed_at).where(base, Event.closed_at >= start)):
        idx = (when - start).days
        if 0 <= idx < days:
            closed[idx] += 1
    return {"days": day_keys, "new": new, "closed": closed}


def category_breakdown(conn: Connection, scope_path: str, period: str, now: datetime,
                       limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent minor categories of the period, most frequent first."""
    start, end = period_bounds(period, now)
    rows = conn.execute(select(Category.name, func.count()).select_from(Event)
                        .join(Category, Category.code == Event.category_code)
                        .where(counted_events(scope_path), Event.reported_at.between(start, end))
                        .group_by(Category.name).order_by(func.count().desc()).limit(limit)).all()
    return [(name, int(n)) for name, n in rows]


def hourly_rhythm(conn: Connection, scope_path: str, now: datetime, days: int = 90) -> list[int]:
    """New events per local hour of day over the last `days`."""
    hours = [0] * 24
    for (when,) in conn.execute(select(Event.reported_at).where(
            counted_events(scope_path), Event.reported_at >= now - timedelta(days=days))):
        hours[to_local(when).hour] += 1
    return hours
