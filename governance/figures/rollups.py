"""Pre-aggregated event counts (rollups), kept current incrementally and re-derivable from scratch.

Two tables share one queue: `event_rollup` (below) and the per-community daily facets of
`governance.figures.scope_rollups` that KPIs and trends read.

Grain: micro-grid path × local (Asia/Shanghai) report day × source × category × status, counting
events the KPIs count (no duplicates, no drills). Every writer that changes one of those dimensions
marks the (path, day) groups it touched in `rollup_dirty`, in its own transaction; `flush`
recomputes the marked groups from the events and clears exactly the marks it saw. `rebuild`
re-derives everything. Readers flush first, so what they read is exact.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, insert, or_, select
from sqlalchemy.engine import Connection

from . import scope_rollups
from ..models import Event, EventRollup, RollupDirty
from ..core.scope import subtree
from ..core.timeutil import to_utc_naive

DIMENSIONS = (Event.source, Event.category_code, Event.status)


SHANGHAI_OFFSET = timedelta(hours=8)  # China has kept UTC+8 all year since 1991


def local_day(reported_at: datetime) -> date:
    """The Asia/Shanghai calendar day of a naive-UTC time."""
    return (reported_at + SHANGHAI_OFFSET).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = to_utc_naive(datetime(day.year, day.month, day.day))
    return start, start + timedelta(days=1)


_counted = scope_rollups.counted  # the same events count in both tables
group_of = scope_rollups.community_of  # the queue's grain: the community (总网格) of a path


def mark(conn: Connection, groups) -> None:
    """Queue (area path, day) groups for recomputation (in the caller's transaction), per community-day."""
    _queue(conn, {(group_of(p), d) for p, d in groups if p})


def _queue(conn: Connection, keys: set) -> None:
    """Insert (community path, day) marks into the queue: the fastest way each database has."""
    if not keys:
        return
    if conn.dialect.name == "sqlite":  # the driver's executemany: this sits on the ingest hot path
        conn.exec_driver_sql("INSERT INTO rollup_dirty (area_path, day) VALUES (?, ?)",
                             [(p, d.isoformat()) for p, d in keys])
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg" and len(keys) > 20:
        # a backfill batch touches hundreds of community-days: COPY, not one INSERT each
        with conn.connection.driver_connection.cursor() as cur, \
                cur.copy("COPY rollup_dirty (area_path, day) FROM STDIN") as copy:
            for row in sorted(keys):
                copy.write_row(row)
    else:
        conn.execute(insert(RollupDirty), [{"area_path": p, "day": d} for p, d in keys])


def mark_rows(conn: Connection, rows) -> None:
    """Queue the groups of event rows (mappings with area_path, reported_at, closed_at and due_at): the
    day each was reported, closed and is due (the scope rollups count closings and open deadlines by day)."""
    keys, community = set(), {}
    offset, no_due = SHANGHAI_OFFSET, scope_rollups.NO_DUE
    for r in rows:  # `local_day` inlined, one community lookup per path: this runs for every new event
        path = r["area_path"]
        if not path:
            continue
        group = community.get(path)
        if group is None:
            group = community[path] = group_of(path)
        keys.add((group, (r["reported_at"] + offset).date()))
        closed, due = r.get("closed_at"), r.get("due_at")
        if closed is not None:
            keys.add((group, (closed + offset).date()))
        keys.add((group, (due + offset).date() if due is not None else no_due))
    _queue(conn, keys)


def mark_events(conn: Connection, event_ids) -> None:
    """Queue the groups of some events after a change to what the rollups count (status, category,
    dates, rating, duplicate link); call it before a change that moves or clears a closing date or a
    deadline too, so the day it leaves is recomputed."""
    ids = list(event_ids)
    for start in range(0, len(ids), 900):
        mark_rows(conn, conn.execute(select(Event.area_path, Event.reported_at, Event.closed_at, Event.due_at)
                                     .where(Event.id.in_(ids[start:start + 900]))).mappings())


def recompute(conn: Connection, groups) -> int:
    """Re-derive the rollup rows of (path prefix, day) groups from the events; return rows written."""
    by_day: dict[date, set[str]] = defaultdict(set)
    for path, day in groups:
        if day != scope_rollups.NO_DUE:  # only the scope rollups' open facet has that day
            by_day[day].add(path)
    written = 0
    for day, prefixes in sorted(by_day.items()):
        start, end = _day_bounds(day)
        prefixes = sorted(prefixes)
        for i in range(0, len(prefixes), 100):
            chunk = prefixes[i:i + 100]
            conn.execute(delete(EventRollup).where(
                EventRollup.day == day, or_(*[subtree(EventRollup.area_path, p) for p in chunk])))
            rows = [{"area_path": p, "day": day, "source": s, "category_code": c, "status": st, "n": n}
                    for p, s, c, st, n in conn.execute(
                        select(Event.area_path, *DIMENSIONS, func.count()).where(
                            *_counted(), Event.reported_at >= start, Event.reported_at < end,
                            or_(*[subtree(Event.area_path, p) for p in chunk]))
                        .group_by(Event.area_path, *DIMENSIONS)
                        .with_hint(Event, "INDEXED BY ix_event_reported_at", dialect_name="sqlite"))]
            if rows:
                conn.execute(insert(EventRollup), rows)
            written += len(rows)
    return written


def flush(conn: Connection) -> int:
    """Recompute every queued group and clear the marks it processed; return the groups done."""
    if conn.dialect.name == "postgresql":
        # Wait for writers still holding marks in open transactions (their ids may be lower than
        # ones already committed), and keep new marks out until this flush has read the queue.
        conn.exec_driver_sql("LOCK TABLE rollup_dirty IN SHARE ROW EXCLUSIVE MODE")
    top = conn.execute(select(func.max(RollupDirty.id))).scalar()
    if top is None:
        return 0
    groups = set(conn.execute(select(RollupDirty.area_path, RollupDirty.day).where(RollupDirty.id <= top)
                              .distinct()).all())
    recompute(conn, groups)
    scope_rollups.recompute(conn, groups)
    conn.execute(delete(RollupDirty).where(RollupDirty.id <= top))
    return len(groups)


def flush_if_queued(conn: Connection) -> int:
    """Flush when anything is queued (a reader's first step: what it then reads is exact).

    Readers of one process flush one at a time: the panels of a new data version all want the same
    flush at once, and each would otherwise recompute the same groups and queue for the database's
    write lock behind the others. A reader that waited finds the queue emptied and reads at once. (The
    wait is bounded: a reader that already holds the write lock in its own transaction must not be
    blocked for long by one waiting for it.)"""
    if _queue_empty(conn):
        return 0
    got = _READER_FLUSH.acquire(timeout=READER_FLUSH_WAIT_SECONDS)
    try:
        if got and _queue_empty(conn):
            return 0
        return flush(conn)
    finally:
        if got:
            _READER_FLUSH.release()


_READER_FLUSH = threading.Lock()
READER_FLUSH_WAIT_SECONDS = 3.0


def _queue_empty(conn: Connection) -> bool:
    return conn.execute(select(RollupDirty.id).limit(1)).first() is None


def rebuild_micro_grids(conn: Connection) -> int:
    """Re-derive every micro-grid rollup row from the events (migration 0008); return rows written."""
    conn.execute(delete(EventRollup))
    day = scope_rollups.local_day_sql(conn, Event.reported_at)
    groups = select(Event.area_path, day.label("day"), *DIMENSIONS, func.count()).where(*_counted()) \
        .group_by(Event.area_path, day, *DIMENSIONS)
    result = conn.execute(insert(EventRollup).from_select(
        ["area_path", "day", "source", "category_code", "status", "n"], groups))
    return result.rowcount or 0


def rebuild(conn: Connection) -> int:
    """Re-derive every rollup (micro-grid and scope) from the events and empty the queue (the rebuild
    command; seeding); return the micro-grid rows written."""
    conn.execute(delete(RollupDirty))
    written = rebuild_micro_grids(conn)
    scope_rollups.rebuild(conn)
    return written


# Recomputing one queued group costs ~1–3 ms; a rebuild ~50 µs (PostgreSQL) or ~220 µs (SQLite) per
# stored event. Past one queued group per this many stored events, rebuilding is the quicker way.
EVENTS_PER_GROUP_TO_REBUILD = {"postgresql": 40, "sqlite": 5}


def catch_up(conn: Connection) -> tuple[str, int]:
    """Bring the rollups up to date after a bulk write: flush the queue, or rebuild when that is
    cheaper; return ("flushed" or "rebuilt", groups queued)."""
    queued = conn.execute(select(func.count()).select_from(
        select(RollupDirty.area_path, RollupDirty.day).distinct().subquery())).scalar() or 0
    ratio = EVENTS_PER_GROUP_TO_REBUILD.get(conn.dialect.name, 10)
    if queued and queued * ratio > conn.execute(select(func.count(Event.id))).scalar():
        rebuild(conn)
        return "rebuilt", queued
    flush(conn)
    return "flushed", queued


def counts_by_path(conn: Connection, parent_path: str, first_day: date, last_day: date,
                   open_states) -> list[tuple[str, int, int, int]]:
    """(micro-grid path, open now, received in [first_day, last_day], closed of those) inside a scope."""
    in_days = EventRollup.day.between(first_day, last_day)
    s = lambda cond: func.coalesce(func.sum(case((cond, EventRollup.n), else_=0)), 0)  # noqa: E731
    return conn.execute(select(
        EventRollup.area_path, s(EventRollup.status.in_(list(open_states))),
        s(in_days & (EventRollup.status != "returned")), s(in_days & (EventRollup.status == "closed")))
        .where(subtree(EventRollup.area_path, parent_path)).group_by(EventRollup.area_path)).all()
