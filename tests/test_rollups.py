"""Rollups stay equal to a from-scratch aggregation through random inserts, updates and dispatches."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select, text

from data_sources.base import NormalisedEvent
from data_sources.upsert import upsert_events
from governance.figures import rollups
from governance.events.dispatch import DispatchError, advance, dispatch, record_visit
from governance.models import Event, EventRollup, ScopeRollup

from .conftest import WORLD_NOW
from .feed_helpers import grid_points, world_copy


def from_scratch(conn) -> Counter:
    """Counted events per (path, local day, source, category, status), computed here in Python."""
    out = Counter()
    for path, at, source, cat, status in conn.execute(select(
            Event.area_path, Event.reported_at, Event.source, Event.category_code, Event.status).where(
            Event.duplicate_of_id.is_(None), Event.is_drill.is_(False), Event.area_path.isnot(None))):
        out[(path, (at + timedelta(hours=8)).date(), source, cat, status)] += 1
    return out


def stored(conn) -> Counter:
    return Counter({(r.area_path, r.day, r.source, r.category_code, r.status): r.n
                    for r in conn.execute(select(EventRollup.__table__))})


def scope_from_scratch(conn) -> dict:
    """The scope rollups recomputed here in Python: (path, day, facet, key) → [n, on_time, rated, satisfied]
    for the community of every counted event and each of its ancestors."""
    out: dict = {}

    def add(path, day, facet, key, values):
        parts = path.strip("/").split("/")[:4]
        for depth in range(1, len(parts) + 1):
            acc = out.setdefault(("/" + "/".join(parts[:depth]) + "/", day, facet, key), [0, 0, 0, 0])
            for i, v in enumerate(values):
                acc[i] += v

    for e in conn.execute(select(Event.area_path, Event.reported_at, Event.closed_at, Event.due_at,
                                 Event.source, Event.category_code, Event.status, Event.satisfaction,
                                 Event.handling_level).where(
            Event.duplicate_of_id.is_(None), Event.is_drill.is_(False), Event.area_path.isnot(None))):
        local = e.reported_at + timedelta(hours=8)
        closed = e.status == "closed"
        on_time = int(closed and e.closed_at is not None and e.due_at is not None and e.closed_at <= e.due_at)
        rated = int(closed and e.satisfaction is not None)
        add(e.area_path, local.date(), "status", f"{e.source}|{e.status}",
            [1, on_time, rated, int(rated and e.satisfaction >= 4)])
        add(e.area_path, local.date(), "category", e.category_code, [1, 0, 0, 0])
        add(e.area_path, local.date(), "hour", f"{local.hour:02d}", [1, 0, 0, 0])
        if e.status in ("collect", "discover", "assign", "handle", "feedback"):
            due_day = (e.due_at + timedelta(hours=8)).date() if e.due_at is not None else date(9999, 12, 31)
            add(e.area_path, due_day, "open", f"{e.source}|{e.status}", [1, 0, 0, 0])
        if closed and e.closed_at is not None:
            add(e.area_path, (e.closed_at + timedelta(hours=8)).date(), "closed",
                f"{e.source}|{e.handling_level}", [1, on_time, 0, 0])
    return out


def scope_stored(conn) -> dict:
    return {(r.area_path, r.day, r.facet, r.key): [r.n, r.on_time, r.rated, r.satisfied]
            for r in conn.execute(select(ScopeRollup.__table__)) if any((r.n, r.on_time, r.rated, r.satisfied))}


def test_rollups_follow_random_inserts_updates_and_dispatches(world_engine, tmp_path):
    engine = world_copy(world_engine, tmp_path)
    with engine.begin() as conn:
        rollups.flush(conn)  # changes other tests made to the shared world
    with engine.connect() as conn:
        assert stored(conn) == from_scratch(conn)
        assert scope_stored(conn) == scope_from_scratch(conn)
        paths = dict(conn.execute(text("SELECT id, path FROM area WHERE level='micro_grid'")).all())
        cats = [c for (c,) in conn.execute(text("SELECT code FROM category WHERE parent_code IS NOT NULL"))]
    rng = random.Random(11)
    points = grid_points(engine, 40)
    for round_ in range(5):
        batch, places = [], []
        for i in range(30):
            area_id, lon, lat = rng.choice(points)
            at = WORLD_NOW - timedelta(hours=rng.uniform(0, 24 * 40))
            key = f"R{round_}-{i}" if rng.random() > 0.2 else f"R0-{rng.randrange(30)}"  # some updates
            batch.append(NormalisedEvent(
                source=rng.choice(["cases", "safety"]), source_key=key, category_code=rng.choice(cats),
                title="测试", description="", lon=lon, lat=lat, address="", status=rng.choice(
                    ["collect", "handle", "closed"]), source_status=str(rng.random()), reported_at=at,
                updated_at=at, raw_payload={}))
            places.append((area_id, paths[area_id]))
        with engine.begin() as conn:
            upsert_events(conn, batch, places, "test", WORLD_NOW)
        at = WORLD_NOW + timedelta(minutes=round_)  # a feed may reopen an event: dispatch it again later
        with engine.begin() as conn:  # dispatchers at work on older events
            open_ids = conn.execute(text("SELECT e.id, s.id FROM event e JOIN staff s ON s.area_id = e.area_id "
                                         "WHERE e.status IN ('collect','discover') LIMIT 5")).all()
            for eid, sid in open_ids:
                try:
                    dispatch(conn, eid, sid, "test", at, due_at=at + timedelta(days=rng.choice([-2, 3])))
                except DispatchError:
                    pass
            for (eid,) in conn.execute(text("SELECT id FROM event WHERE status='handle' ORDER BY id DESC LIMIT 3")).all():
                advance(conn, eid, "feedback", "test", WORLD_NOW)
            for (eid,) in conn.execute(text("SELECT id FROM event WHERE status='feedback' ORDER BY id LIMIT 3")).all():
                advance(conn, eid, "closed", "test", WORLD_NOW)  # closed today: a new closing day
                record_visit(conn, eid, rng.choice([2, 5]), "test", WORLD_NOW)
            for (eid,) in conn.execute(text("SELECT id FROM event WHERE status='closed' AND closed_at < :t "
                                            "ORDER BY id LIMIT 2"), {"t": WORLD_NOW - timedelta(days=3)}).all():
                advance(conn, eid, "handle", "test", WORLD_NOW)  # reopened: its old closing day changes
        if round_ % 2:  # sometimes a flush in between, sometimes several rounds queue up
            with engine.begin() as conn:
                assert rollups.flush(conn) > 0
    with engine.begin() as conn:
        rollups.flush(conn)
    with engine.connect() as conn:
        incremental = stored(conn)
        truth = from_scratch(conn)
        scope_incremental, scope_truth = scope_stored(conn), scope_from_scratch(conn)
        assert conn.execute(text("SELECT COUNT(*) FROM rollup_dirty")).scalar() == 0
    assert incremental == truth
    assert scope_incremental == scope_truth
    with engine.begin() as conn:
        rollups.rebuild(conn)
    with engine.connect() as conn:
        assert stored(conn) == truth
        assert scope_stored(conn) == scope_truth


def test_map_figures_read_rollups_and_match_events(world_engine):
    from governance.reports.area_stats import child_figures
    from governance.figures.kpis import counted_events, period_bounds
    from governance.alerts.warnings import load_rules
    from governance.core.workflow import OPEN_STATES

    focus = world_engine.accounts["focus"]
    with world_engine.begin() as conn:
        rollups.flush(conn)
        path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": focus}).scalar()
        figures = child_figures(conn, path, "community", "month", WORLD_NOW, load_rules())
        start, end = period_bounds("month", WORLD_NOW)
        for code, f in list(figures.items())[:5]:
            cpath = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": code}).scalar()
            rows = conn.execute(select(Event.status, Event.reported_at).where(counted_events(cpath))).all()
            assert f.open == sum(1 for s, _ in rows if s in OPEN_STATES)
            assert f.received == sum(1 for s, t in rows if start <= t <= end and s != "returned")
            assert f.closed == sum(1 for s, t in rows if start <= t <= end and s == "closed")


def test_scheduler_flushes_a_short_queue_and_rebuilds_after_a_long_catch_up(world_engine, tmp_path):
    from data_sources.scheduler import flush_rollups

    engine = world_copy(world_engine, tmp_path)
    with engine.begin() as conn:
        rollups.flush(conn)
        ids = list(conn.execute(select(Event.id).order_by(Event.id)).scalars())
        total = len(ids)
        rollups.mark_events(conn, ids[:3])
    how, groups = flush_rollups(engine)
    assert how == "flushed" and 1 <= groups <= 9
    with engine.begin() as conn:  # as a catch-up of the whole history would: every group queued
        rollups.mark_events(conn, ids)
        conn.execute(text("UPDATE event SET status = 'closed', closed_at = reported_at WHERE id = :i"), {"i": ids[5]})
    how, groups = flush_rollups(engine)
    assert how == "rebuilt" and groups * rollups.EVENTS_PER_GROUP_TO_REBUILD[engine.dialect.name] > total
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM rollup_dirty")).scalar() == 0
        assert stored(conn) == from_scratch(conn)
        assert scope_stored(conn) == scope_from_scratch(conn)


def test_days_an_event_leaves_are_recomputed(world_engine, tmp_path):
    """A moved deadline and a reopened event change the day they leave, not only the day they land on."""
    engine = world_copy(world_engine, tmp_path)
    with engine.begin() as conn:
        rollups.flush(conn)
        local = lambda t: (t + timedelta(hours=8)).date()  # noqa: E731
        today = local(WORLD_NOW)
        open_rows = conn.execute(select(Event.id, Event.reported_at, Event.due_at, Event.area_id).where(
            Event.status.in_(["collect", "discover"]), Event.duplicate_of_id.is_(None),
            Event.is_drill.is_(False))).all()
        moved = next(r for r in open_rows if local(r.due_at) not in (local(r.reported_at), today))
        staff = conn.execute(text("SELECT id FROM staff WHERE area_id = :a"), {"a": moved.area_id}).scalar()
        dispatch(conn, moved.id, staff, "test", WORLD_NOW, due_at=WORLD_NOW + timedelta(days=9))
        closed_rows = conn.execute(select(Event.id, Event.reported_at, Event.closed_at, Event.due_at).where(
            Event.status == "closed", Event.duplicate_of_id.is_(None), Event.is_drill.is_(False),
            Event.closed_at < WORLD_NOW - timedelta(days=3))).all()
        reopened = next(r for r in closed_rows
                        if local(r.closed_at) not in (local(r.reported_at), local(r.due_at), today))
        advance(conn, reopened.id, "handle", "test", WORLD_NOW)
    with engine.begin() as conn:
        assert rollups.flush(conn) > 0
    with engine.connect() as conn:
        assert scope_stored(conn) == scope_from_scratch(conn)
