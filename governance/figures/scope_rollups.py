"""Daily facets of every community and of its ancestors (sub-district, district, city): what KPIs,
trends and the upper map levels read, so a scope of any size costs at most a row per day and key.

Grain: area path (a community or an ancestor) × local (Asia/Shanghai) day × facet × key:

- ``status``   key ``source|status``, by report day: ``n``, ``on_time`` (closed by the deadline),
  ``rated`` and ``satisfied`` (closed events with a return visit, and those rated 4–5);
- ``category`` key category code, by report day: ``n``;
- ``hour``     key local hour ``00``–``23``, by report day: ``n``;
- ``closed``   key ``source|handling level``, by local day of closing: ``n`` and ``on_time``;
- ``open``     key ``source|status``, open events by local day of their deadline: ``n`` (在办, 超期).

The same events count as in the micro-grid rollups (no duplicates, no drills, inside a grid). A
community's rows are recomputed from its events whenever one of its days is queued in
``rollup_dirty`` (the queue `governance.figures.rollups` keeps; the report day, the day of closing and the
day of the deadline of a changed event are queued); an ancestor's rows are then re-summed from its children's rows.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import (Column, Date, MetaData, String, Table, case, cast, delete, func, insert, literal,
                        literal_column, or_, select, text)
from sqlalchemy.engine import Connection

from ..models import Area, AreaPath, Event, ScopeRollup
from ..core.scope import subtree
from ..core.timeutil import to_utc_naive
from ..core.workflow import OPEN_STATES

# Levels kept here, bottom-up; a community path has four segments (city/district/street/community).
LEVELS = ("community", "subdistrict", "district", "city")
NO_DUE = date(9999, 12, 31)  # the 'open' facet's day for an open event without a deadline
COMMUNITY_DEPTH = 4
MEASURES = ("n", "on_time", "rated", "satisfied")
FACETS = ("status", "category", "hour", "closed", "open")


def covers(scope_path: str) -> bool:
    """True when a scope is a community or one of its ancestors (its figures live in this table)."""
    return len(scope_path.strip("/").split("/")) <= COMMUNITY_DEPTH


@lru_cache(maxsize=65536)
def community_of(path: str) -> str:
    """The community path an area path lies in (a community's or an ancestor's own path as it is)."""
    parts = path.strip("/").split("/")
    return "/" + "/".join(parts[:COMMUNITY_DEPTH]) + "/"


def counted():
    """Conditions of the events every rollup counts: not a duplicate, not a drill, inside a grid."""
    return (Event.duplicate_of_id.is_(None), Event.is_drill.is_(False), Event.area_path.isnot(None))


def _measures(closed):
    one = lambda cond: func.coalesce(func.sum(case((cond, 1), else_=0)), 0)  # noqa: E731
    return (func.count(), one(closed & (Event.closed_at <= Event.due_at)),
            one(closed & Event.satisfaction.isnot(None)), one(closed & (Event.satisfaction >= 4)))


def local_hour_sql(conn: Connection, column):
    """SQL for the two-digit Asia/Shanghai hour of a naive-UTC time column."""
    if conn.dialect.name == "postgresql":
        return func.to_char(column + literal_column("INTERVAL '8 hours'"), "HH24")
    return func.strftime("%H", column, "+8 hours")


def local_day_sql(conn: Connection, column):
    """SQL for the Asia/Shanghai calendar day of a naive-UTC time column (UTC+8 all year)."""
    if conn.dialect.name == "postgresql":
        return cast(column + literal_column("INTERVAL '8 hours'"), Date)
    return func.date(column, "+8 hours")


def _facet_queries(conn: Connection, day: date | None = None):
    """(facet, key columns, measure columns, day of an event in SQL, conditions) of every facet; with
    `day`, the conditions keep only that local day's events on the facet's own day axis."""
    closed, is_open = Event.status == "closed", Event.status.in_(OPEN_STATES)
    start = to_utc_naive(datetime(day.year, day.month, day.day)) if day is not None and day != NO_DUE else None

    def on(col):
        if day is None:
            return ()
        if day == NO_DUE:
            return (col.is_(None),)
        return (col >= start, col < start + timedelta(days=1))

    reported_day = local_day_sql(conn, Event.reported_at)
    due_day = case((Event.due_at.is_(None), cast(literal(NO_DUE), Date)), else_=local_day_sql(conn, Event.due_at))
    zero = (literal(0), literal(0), literal(0))
    return (
        ("status", (Event.source, Event.status), _measures(closed), reported_day, on(Event.reported_at)),
        ("category", (Event.category_code,), (func.count(), *zero), reported_day, on(Event.reported_at)),
        ("hour", (local_hour_sql(conn, Event.reported_at),), (func.count(), *zero), reported_day,
         on(Event.reported_at)),
        ("closed", (Event.source, Event.handling_level), _measures(closed)[:2] + zero[:2],
         local_day_sql(conn, Event.closed_at), (closed, Event.closed_at.isnot(None), *on(Event.closed_at))),
        ("open", (Event.source, Event.status), (func.count(), *zero), due_day, (is_open, *on(Event.due_at))),
    )


# One day of a facet's axis is the selective part: SQLite (without statistics) would rather take the
# status index for "status = 'closed'" and walk nine closed events in ten.
_DAY_INDEX = {"status": "ix_event_reported_at", "category": "ix_event_reported_at", "hour": "ix_event_reported_at",
              "closed": "ix_event_closed_at", "open": "ix_event_status_due"}


def recompute_communities(conn: Connection, day: date, communities: list[str]) -> int:
    """Re-derive the rows of some communities for one local day from the events; return rows written."""
    written = 0
    for i in range(0, len(communities), 100):
        chunk = communities[i:i + 100]
        conn.execute(delete(ScopeRollup).where(  # every facet named: the primary key finds the rows
            ScopeRollup.area_path.in_(chunk), ScopeRollup.facet.in_(FACETS), ScopeRollup.day == day))
        sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for facet, keys, measures, _day, conds in _facet_queries(conn, day):
            rows = conn.execute(select(Event.area_path, *keys, *measures).where(
                *counted(), *conds, or_(*[subtree(Event.area_path, p) for p in chunk]))
                .group_by(Event.area_path, *keys)
                .with_hint(Event, f"INDEXED BY {_DAY_INDEX[facet]}", dialect_name="sqlite"))
            for row in rows:
                key = "|".join(str(v) for v in row[1:1 + len(keys)])
                acc = sums[(community_of(row[0]), facet, key)]
                for j, v in enumerate(row[1 + len(keys):]):
                    acc[j] += int(v or 0)
        values = [{"area_path": p, "day": day, "facet": f, "key": k, "level": "community",
                   **dict(zip(MEASURES, m))} for (p, f, k), m in sums.items()]
        if values:
            conn.execute(insert(ScopeRollup), values)
        written += len(values)
    return written


def _resum_parents(conn: Connection, child_level: str, parent_level: str, day: date | None,
                   parents: list[str] | None) -> None:
    """Re-sum the rows of parent areas from their children's rows (one day, or every day)."""
    child, parent = Area.__table__.alias("child"), Area.__table__.alias("parent")
    r = ScopeRollup.__table__
    where = [r.c.level == child_level]
    if day is not None:
        where.append(r.c.day == day)
    if parents is not None:
        where.append(parent.c.path.in_(parents))
    conn.execute(delete(ScopeRollup).where(
        ScopeRollup.level == parent_level,
        *([ScopeRollup.day == day] if day is not None else []),
        *([ScopeRollup.area_path.in_(parents)] if parents is not None else [])))
    summed = select(parent.c.path, r.c.day, r.c.facet, r.c.key, literal(parent_level),
                    *[func.sum(getattr(r.c, m)) for m in MEASURES]) \
        .select_from(r.join(child, child.c.path == r.c.area_path).join(parent, parent.c.id == child.c.parent_id)) \
        .where(*where).group_by(parent.c.path, r.c.day, r.c.facet, r.c.key)
    conn.execute(insert(ScopeRollup).from_select(
        ["area_path", "day", "facet", "key", "level", *MEASURES], summed))


def _ancestors(community: str) -> list[str]:
    parts = community.strip("/").split("/")
    return ["/" + "/".join(parts[:k]) + "/" for k in range(len(parts) - 1, 0, -1)]


def recompute(conn: Connection, groups) -> None:
    """Re-derive the rows of queued (community path, day) groups and of every ancestor on those days."""
    by_day: dict[date, set[str]] = defaultdict(set)
    for path, day in groups:
        if path:
            by_day[day].add(community_of(path))
    for day, communities in sorted(by_day.items()):
        recompute_communities(conn, day, sorted(communities))
        ups = {c: _ancestors(c) for c in communities}
        for depth, (child_level, parent_level) in enumerate(zip(LEVELS, LEVELS[1:])):
            parents = sorted({a[depth] for a in ups.values() if len(a) > depth})
            if parents:
                _resum_parents(conn, child_level, parent_level, day, parents)


def rebuild(conn: Connection) -> None:
    """Re-derive every row from the events (the rebuild command and the migration)."""
    conn.execute(delete(ScopeRollup))
    paths = [p for (p,) in conn.execute(select(Event.area_path).where(Event.area_path.isnot(None)).distinct())]
    path = AreaPath.compile(dialect=conn.dialect)  # byte order on PostgreSQL, as the tables' paths
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE rollup_community_map "
                         f"(area_path {path} PRIMARY KEY, community {path} NOT NULL)")
    try:
        if paths:
            conn.execute(text("INSERT INTO rollup_community_map (area_path, community) VALUES (:p, :c)"),
                         [{"p": p, "c": community_of(p)} for p in paths])
        cmap = _MAP
        for facet, keys, measures, day, conds in _facet_queries(conn):
            key = keys[0] if len(keys) == 1 else keys[0] + literal("|") + keys[1]
            grouped = select(cmap.c.community, day, literal(facet), key, literal("community"), *measures) \
                .select_from(Event.__table__.join(cmap, cmap.c.area_path == Event.area_path)) \
                .where(*counted(), *conds).group_by(cmap.c.community, day, key)
            conn.execute(insert(ScopeRollup).from_select(
                ["area_path", "day", "facet", "key", "level", *MEASURES], grouped))
    finally:
        conn.exec_driver_sql("DROP TABLE rollup_community_map")
    for child_level, parent_level in zip(LEVELS, LEVELS[1:]):
        _resum_parents(conn, child_level, parent_level, None, None)


# The temporary table `rebuild` fills with each event path's community.
_MAP = Table("rollup_community_map", MetaData(), Column("area_path", String(400)), Column("community", String(400)))


def facet_sums(conn: Connection, scope_path: str, facet: str, first_day: date, last_day: date) -> dict[str, tuple]:
    """Per key, the summed (n, on_time, rated, satisfied) of a scope's facet over [first_day, last_day]."""
    rows = conn.execute(select(ScopeRollup.key, *[func.sum(getattr(ScopeRollup, m)) for m in MEASURES]).where(
        ScopeRollup.area_path == scope_path, ScopeRollup.day.between(first_day, last_day),
        ScopeRollup.facet == facet).group_by(ScopeRollup.key))
    return {k: tuple(int(v or 0) for v in vals) for k, *vals in rows}


def facet_by_day(conn: Connection, scope_path: str, facet: str, first_day: date, last_day: date) -> dict:
    """Per (day, key), the count of a scope's facet over [first_day, last_day]."""
    rows = conn.execute(select(ScopeRollup.day, ScopeRollup.key, ScopeRollup.n).where(
        ScopeRollup.area_path == scope_path, ScopeRollup.day.between(first_day, last_day),
        ScopeRollup.facet == facet))
    return {(d, k): int(n) for d, k, n in rows}


def children_counts(conn: Connection, child_paths: list[str], first_day: date, last_day: date
                    ) -> dict[str, tuple[int, int, int]]:
    """Per child area (community or above): (open now, received in [first_day, last_day], closed of those)."""
    out: dict[str, list[int]] = {p: [0, 0, 0] for p in child_paths}
    for i in range(0, len(child_paths), 500):
        chunk = child_paths[i:i + 500]
        for path, key, n in conn.execute(select(ScopeRollup.area_path, ScopeRollup.key, func.sum(ScopeRollup.n)).where(
                ScopeRollup.area_path.in_(chunk), ScopeRollup.facet == "status",
                ScopeRollup.day.between(first_day, last_day)).group_by(ScopeRollup.area_path, ScopeRollup.key)):
            state = key.split("|", 1)[1]
            out[path][1] += int(n) if state != "returned" else 0
            out[path][2] += int(n) if state == "closed" else 0
        for path, n in conn.execute(select(ScopeRollup.area_path, func.sum(ScopeRollup.n)).where(
                ScopeRollup.area_path.in_(chunk), ScopeRollup.facet == "open").group_by(ScopeRollup.area_path)):
            out[path][0] += int(n)
    return {p: tuple(v) for p, v in out.items()}
