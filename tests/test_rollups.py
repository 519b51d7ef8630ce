"""Rollups stay equal to a from-scratch aggregation through random inserts, updates and dispatches."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, text

from data_sources.base import NormalisedEvent
from data_sources.upsert import upsert_events
from governance import rollups
from governance.dispatch import DispatchError, advance, dispatch
from governance.models import Event, EventRollup

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


def test_rollups_follow_random_inserts_updates_and_dispatches(world_engine, tmp_path):
    engine = world_copy(world_engine, tmp_path)
    with engine.connect() as conn:
        assert stored(conn) == from_scratch(conn)  # the seed's rebuild
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
        with engine.begin() as conn:  # dispatchers at work on older events
            open_ids = conn.execute(text("SELECT e.id, s.id FROM event e JOIN staff s ON s.area_id = e.area_id "
                                         "WHERE e.status IN ('collect','discover') LIMIT 5")).all()
            for eid, sid in open_ids:
                try:
                    dispatch(conn, eid, sid, "test", WORLD_NOW)
                except DispatchError:
                    pass
            for (eid,) in conn.execute(text("SELECT id FROM event WHERE status='handle' ORDER BY id DESC LIMIT 3")).all():
                advance(conn, eid, "feedback", "test", WORLD_NOW)
        if round_ % 2:  # sometimes a flush in between, sometimes several rounds queue up
            with engine.begin() as conn:
                assert rollups.flush(conn) > 0
    with engine.begin() as conn:
        rollups.flush(conn)
    with engine.connect() as conn:
        incremental = stored(conn)
        truth = from_scratch(conn)
        assert conn.execute(text("SELECT COUNT(*) FROM rollup_dirty")).scalar() == 0
    assert incremental == truth
    with engine.begin() as conn:
        rollups.rebuild(conn)
    with engine.connect() as conn:
        assert stored(conn) == truth


def test_map_figures_read_rollups_and_match_events(world_engine):
    from governance.area_stats import child_figures
    from governance.kpis import counted_events, period_bounds
    from governance.warnings import load_rules
    from governance.workflow import OPEN_STATES

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
