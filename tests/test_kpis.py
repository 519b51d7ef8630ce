"""KPIs: against an independent SQL computation on the world, and on hand-made events."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, text

from governance.figures import rollups
from governance.figures.kpis import closed_by_level, compute_kpis, kpis_from_events, kpis_from_rollups, period_bounds
from governance.models import Area, Category, Event
from governance.core.timeutil import to_local, to_utc_naive

from .conftest import WORLD_NOW

FOCUS = "/510100/510107/510107001/"


def independent_kpis(conn, scope: str, start: datetime, now: datetime) -> dict:
    """The KPIs recomputed with plain SQL, written separately from governance.figures.kpis."""
    today = to_utc_naive(to_local(now).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None))
    base = ("FROM event WHERE duplicate_of_id IS NULL AND NOT is_drill "
            "AND substr(area_path, 1, :n) = :scope")
    p = {"scope": scope, "n": len(scope), "start": start, "now": now, "today": today}
    q = lambda where: conn.execute(text(f"SELECT COUNT(*) {base} AND {where}"), p).scalar()  # noqa
    period = "reported_at >= :start AND reported_at <= :now"
    total = q(f"{period} AND status != 'returned'")
    closed = q(f"{period} AND status = 'closed'")
    return {
        "closure_rate": 100.0 * closed / total,
        "on_time_rate": 100.0 * q(f"{period} AND status = 'closed' AND closed_at <= due_at") / closed,
        "satisfaction_rate": 100.0 * q(f"{period} AND status='closed' AND satisfaction >= 4")
        / q(f"{period} AND status='closed' AND satisfaction IS NOT NULL"),
        "new_today": q("reported_at >= :today"),
        "open_count": q("status IN ('collect','discover','assign','handle','feedback')"),
        "overdue": q("status IN ('collect','discover','assign','handle','feedback') AND due_at < :now"),
    }


def after_newest(conn) -> datetime:
    """WORLD_NOW, or just after the newest event if other tests of the session stamped one later: the
    rollups count whole local days, the events up to `now`, so both must look from after everything."""
    newest = conn.execute(text("SELECT MAX(reported_at), MAX(closed_at) FROM event")).one()
    return max([WORLD_NOW] + [datetime.fromisoformat(str(t)) + timedelta(seconds=1) for t in newest if t])


@pytest.mark.parametrize("period", ["month", "year"])
def test_kpis_match_independent_sql(world_engine, period):
    with world_engine.begin() as conn:
        now = after_newest(conn)
        start, _ = period_bounds(period, now)
        got = compute_kpis(conn, FOCUS, period, now)
        want = independent_kpis(conn, FOCUS, start, now)
    for key, value in want.items():
        assert getattr(got, key) == pytest.approx(value), key


def test_period_bounds_use_shanghai_days():
    now = datetime(2026, 11, 22, 16, 30)  # 00:30 on 23 Nov in Shanghai
    assert period_bounds("today", now)[0] == datetime(2026, 11, 22, 16, 0)
    assert period_bounds("week", now)[0] == datetime(2026, 11, 22, 16, 0)  # a Monday
    assert period_bounds("month", now)[0] == datetime(2026, 10, 31, 16, 0)
    assert period_bounds("year", now)[0] == datetime(2025, 12, 31, 16, 0)
    with pytest.raises(ValueError):
        period_bounds("decade", now)


@pytest.mark.parametrize("source", ["events", "rollups"])
def test_kpis_on_hand_made_events(empty_engine, source):
    now = datetime(2026, 6, 15, 4, 0)
    geom = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'
    area = dict(code="X", name="测试网格", level="micro_grid", path="/X/", geometry=geom, min_lon=0,
                min_lat=0, max_lon=1, max_lat=1, centroid_lon=0.5, centroid_lat=0.2)
    t0 = now - timedelta(days=3)

    def ev(key, status, source="cases", closed_late=False, sat=None, dup=None, drill=False,
           reported=t0):
        closed = reported + timedelta(hours=30 if closed_late else 2) if status == "closed" else None
        return dict(source=source, source_key=key, category_code="0102", title="t", status=status,
                    area_id=1, area_path="/X/", reported_at=reported, updated_at=reported,
                    due_at=reported + timedelta(hours=24), closed_at=closed, satisfaction=sat,
                    duplicate_of_id=dup, is_drill=drill)

    events = [ev("a", "closed", sat=5), ev("b", "closed", closed_late=True, sat=2),
              ev("c", "handle"), ev("d", "returned"), ev("e", "closed", dup=1),
              ev("f", "closed", drill=True), ev("g", "assign", reported=now - timedelta(hours=1)),
              ev("h", "closed", reported=datetime(2025, 6, 14, 4, 0))]
    with empty_engine.begin() as conn:
        conn.execute(insert(Area.__table__), [area])
        conn.execute(insert(Category.__table__), [dict(code="01", name="市容环境", family="x"),
                                                  dict(code="0102", name="暴露垃圾", parent_code="01",
                                                       family="x")])
        conn.execute(insert(Event.__table__), events)
        if source == "rollups":  # rows written behind the writers' back: derive the rollups once
            rollups.rebuild(conn)
            k = kpis_from_rollups(conn, "/X/", "month", now)
        else:
            k = kpis_from_events(conn, "/X/", "month", now)
    # counted: a, b, c, g (d returned excluded from the denominator; e duplicate; f drill)
    assert (k.total, k.closed, k.closed_on_time) == (4, 2, 1)
    assert k.closure_rate == 50.0 and k.on_time_rate == 50.0 and k.satisfaction_rate == 50.0
    assert k.open_count == 2 and k.overdue == 1 and k.new_today == 1
    assert k.cases == 5 and k.cases_last_year == 1 and k.cases_yoy == 400.0


def _scopes(conn) -> list[str]:
    """The city, the focus district and sub-district (the seeded ones) and two of its communities."""
    rows = conn.execute(text("SELECT path, level FROM area WHERE level IN ('city','district','subdistrict','community') "
                             "ORDER BY path")).all()
    return ([p for p, lv in rows if lv != "community" and FOCUS.startswith(p)]
            + [p for p, lv in rows if lv == "community" and p.startswith(FOCUS)][:2])


@pytest.mark.parametrize("period", ["today", "week", "month", "year"])
def test_rollup_kpis_equal_event_kpis_at_every_level(world_engine, period):
    with world_engine.begin() as conn:
        rollups.flush(conn)
        now = after_newest(conn)
        for scope in _scopes(conn):
            from_rollups = kpis_from_rollups(conn, scope, period, now)
            assert from_rollups == kpis_from_events(conn, scope, period, now), scope
            assert from_rollups.total > 0 or period == "today"
        assert closed_by_level(conn, FOCUS, period, now) == _closed_by_level_sql(conn, FOCUS, period, now)


def _closed_by_level_sql(conn, scope: str, period: str, now: datetime) -> dict:
    start, end = period_bounds(period, now)
    return dict(conn.execute(text(
        "SELECT handling_level, COUNT(*) FROM event WHERE duplicate_of_id IS NULL AND NOT is_drill "
        "AND substr(area_path, 1, :n) = :scope AND status = 'closed' AND closed_at >= :s AND closed_at <= :e "
        "GROUP BY handling_level"), {"n": len(scope), "scope": scope, "s": start, "e": end}).all())


def test_trends_from_rollups_equal_the_events(world_engine):
    from governance.figures.trends import category_breakdown, daily_new_closed, hourly_rhythm
    from governance.core.timeutil import local_day_start, to_local

    with world_engine.begin() as conn:
        rollups.flush(conn)
        now = after_newest(conn)
        rows = conn.execute(text(
            "SELECT e.source, e.reported_at, e.closed_at, e.status, c.name FROM event e "
            "JOIN category c ON c.code = e.category_code WHERE e.duplicate_of_id IS NULL AND NOT e.is_drill "
            "AND substr(e.area_path, 1, :n) = :scope"), {"n": len(FOCUS), "scope": FOCUS}).all()
        daily = daily_new_closed(conn, FOCUS, now)
        hourly = hourly_rhythm(conn, FOCUS, now)
        categories = category_breakdown(conn, FOCUS, "month", now, limit=50)
    as_time = lambda v: datetime.fromisoformat(str(v)) if v is not None else None  # noqa: E731
    days = [d for d in daily["days"]]
    new, closed = {}, [0] * len(days)
    hours, cats = [0] * 24, {}
    start90 = local_day_start(now, 89)
    month_start, _ = period_bounds("month", now)
    for source, reported, closed_at, status, name in rows:
        reported, closed_at = as_time(reported), as_time(closed_at)
        day = to_local(reported).strftime("%Y-%m-%d")
        if day in days:
            new.setdefault(source, [0] * len(days))[days.index(day)] += 1
        if status == "closed" and closed_at and to_local(closed_at).strftime("%Y-%m-%d") in days:
            closed[days.index(to_local(closed_at).strftime("%Y-%m-%d"))] += 1
        if start90 <= reported <= now:
            hours[to_local(reported).hour] += 1
        if month_start <= reported <= now:
            cats[name] = cats.get(name, 0) + 1
    assert daily["new"] == new and daily["closed"] == closed
    assert sum(closed) > 0 and sum(map(sum, new.values())) > 0
    assert hourly == hours
    assert dict(categories) == cats
