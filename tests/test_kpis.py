"""KPIs: against an independent SQL computation on the world, and on hand-made events."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, text

from governance.kpis import compute_kpis, period_bounds
from governance.models import Area, Category, Event
from governance.timeutil import to_utc_naive

from .conftest import WORLD_NOW

FOCUS = "/510100/510107/510107001/"


def independent_kpis(conn, scope: str, start: datetime, now: datetime) -> dict:
    """The KPIs recomputed with plain SQL, written separately from governance.kpis."""
    today = to_utc_naive(datetime(2026, 11, 20))  # local midnight of WORLD_NOW's day
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


@pytest.mark.parametrize("period", ["month", "year"])
def test_kpis_match_independent_sql(world_engine, period):
    start, _ = period_bounds(period, WORLD_NOW)
    with world_engine.connect() as conn:
        got = compute_kpis(conn, FOCUS, period, WORLD_NOW)
        want = independent_kpis(conn, FOCUS, start, WORLD_NOW)
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


def test_kpis_on_hand_made_events(empty_engine):
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
        k = compute_kpis(conn, "/X/", "month", now)
    # counted: a, b, c, g (d returned excluded from the denominator; e duplicate; f drill)
    assert (k.total, k.closed, k.closed_on_time) == (4, 2, 1)
    assert k.closure_rate == 50.0 and k.on_time_rate == 50.0 and k.satisfaction_rate == 50.0
    assert k.open_count == 2 and k.overdue == 1 and k.new_today == 1
    assert k.cases == 5 and k.cases_last_year == 1 and k.cases_yoy == 400.0
