"""Dispatch and the five-step loop: every transition, refusals, concurrency, suggestions, drills."""
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from governance.core.db import make_engine
from governance.events.dispatch import (DispatchError, add_progress, advance, dispatch, on_duty, record_visit,
                                 suggest_assignees)
from governance.models import Event, EventAudit, Shift
from governance.core.workflow import STATES, TRANSITIONS

from .feed_helpers import world_copy

NOW = datetime(2026, 11, 20, 2, 0)  # 10:00 on a Friday in Shanghai


def new_event(engine, status="discover", key="D"):
    with engine.connect() as conn:
        area_id, path, lon, lat = conn.execute(text(
            "SELECT id, path, centroid_lon, centroid_lat FROM area WHERE level='micro_grid' ORDER BY id LIMIT 1")).one()
    with engine.begin() as conn:
        conn.execute(insert(Event), [dict(source="push", source_key=key, category_code="1101", title="燃气异味",
                                          area_id=area_id, area_path=path, lon=lon, lat=lat, status=status,
                                          severity=4, reported_at=NOW - timedelta(minutes=10), updated_at=NOW,
                                          due_at=NOW + timedelta(hours=2))])
        return conn.execute(select(Event.id).where(Event.source_key == key)).scalar()


@pytest.mark.parametrize("from_state", list(STATES))
def test_every_transition_is_allowed_or_refused_as_designed(engine, from_state):
    for to_state in STATES:
        eid = new_event(engine, status=from_state, key=f"T-{from_state}-{to_state}")
        staff = 1 if to_state == "assign" else None
        with engine.begin() as conn:
            if to_state in TRANSITIONS[from_state]:
                advance(conn, eid, to_state, "测试", NOW, staff_id=staff)
                assert conn.execute(select(Event.status).where(Event.id == eid)).scalar() == to_state
            else:
                with pytest.raises(DispatchError, match="不能从"):
                    advance(conn, eid, to_state, "测试", NOW, staff_id=staff)


def test_the_whole_loop_is_time_stamped_and_audited(engine):
    eid = new_event(engine)
    with engine.begin() as conn:
        best, depts = suggest_assignees(conn, eid, NOW)
        dispatch(conn, eid, best[0].staff_id, "街道指挥中心", NOW, tuple(d["code"] for d in depts))
        advance(conn, eid, "handle", best[0].name, NOW + timedelta(minutes=5))
        add_progress(conn, eid, best[0].name, NOW + timedelta(minutes=20), "已关闭总阀，燃气公司到场",
                     ("gas",), ("https://photos.example/1.jpg", "javascript:alert(1)"))
        advance(conn, eid, "feedback", best[0].name, NOW + timedelta(minutes=40), "已更换软管")
        advance(conn, eid, "handle", "街道指挥中心", NOW + timedelta(minutes=45), "请补充照片")  # rework
        advance(conn, eid, "feedback", best[0].name, NOW + timedelta(minutes=50))
        advance(conn, eid, "closed", "街道指挥中心", NOW + timedelta(minutes=55))
        record_visit(conn, eid, 5, "回访员", NOW + timedelta(hours=3))
        ev = conn.execute(select(Event).where(Event.id == eid)).one()
        trail = [a.action for a in conn.execute(select(EventAudit).where(EventAudit.event_id == eid)
                                                .order_by(EventAudit.id)).all()]
        notes = " ".join(a.note or "" for a in conn.execute(select(EventAudit).where(EventAudit.event_id == eid)))
    assert ev.status == "closed" and ev.satisfaction == 5 and ev.rework_count == 1
    assert ev.dispatched_at == NOW and ev.accepted_at is not None and ev.closed_at == NOW + timedelta(minutes=55)
    assert trail == ["派单", "吹哨报到", "发出任务链接", "签收", "处置进展", "部门报到", "提交结果", "返工", "提交结果",
                     "核查办结", "收回任务链接", "回访"]
    assert "https://photos.example/1.jpg" in notes and "javascript:" not in notes
    with engine.begin() as conn:
        with pytest.raises(DispatchError, match="1–5"):
            record_visit(conn, eid, 9, "回访员", NOW)


def test_suggestions_put_the_own_grid_first_with_reasons(engine):
    eid = new_event(engine)
    with engine.connect() as conn:
        best, depts = suggest_assignees(conn, eid, NOW)
        own_worker = conn.execute(text(
            "SELECT s.id FROM staff s JOIN event e ON e.area_id = s.area_id WHERE e.id=:e "
            "AND s.role='micro_grid_worker'"), {"e": eid}).scalar()
    assert best[0].staff_id in {own_worker} or any("属地" in r for r in best[0].reasons)
    assert any(s.staff_id == own_worker for s in best)
    assert {d["code"] for d in depts} == {"gas", "safety_office"}
    assert all(any("在办任务" in r for r in s.reasons) for s in best)


def test_on_duty_uses_shanghai_time():
    shift = Shift(code="x", name="常规班", weekdays="12345", start="08:30", end="17:30")
    assert on_duty(shift, NOW)                                   # Friday 10:00
    assert not on_duty(shift, NOW + timedelta(hours=10))         # Friday 20:00
    assert not on_duty(shift, NOW + timedelta(days=1))           # Saturday


def _race(engine, eid, n=16):
    barrier = threading.Barrier(n)
    outcomes = []

    def worker(i):
        barrier.wait()
        try:
            with engine.begin() as conn:
                dispatch(conn, eid, 1 + i, f"领导{i}", NOW)
            outcomes.append(("ok", i))
        except DispatchError as exc:
            outcomes.append(("refused", str(exc)))
        except Exception as exc:  # database lock errors count as refusals, never as double dispatch
            outcomes.append(("error", repr(exc)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_sixteen_leaders_dispatch_at_once_exactly_one_wins_sqlite(engine):
    eid = new_event(engine)
    outcomes = _race(engine, eid)
    wins = [o for o in outcomes if o[0] == "ok"]
    assert len(wins) == 1
    refusals = [o[1] for o in outcomes if o[0] == "refused"]
    assert refusals and all("已由" in r for r in refusals)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM event_audit WHERE event_id=:e AND action='派单'"),
                         {"e": eid}).scalar()
        assignee = conn.execute(select(Event.assignee_staff_id).where(Event.id == eid)).scalar()
    assert n == 1 and assignee == 1 + wins[0][1]


def test_concurrent_dispatch_on_postgresql(postgres_url, world_engine, tmp_path):
    from governance.core.db import migrate
    from governance.models import Base

    engine = make_engine(postgres_url)
    migrate(engine)
    src = world_copy(world_engine, tmp_path)
    tables = Base.metadata.tables
    with src.connect() as s, engine.begin() as d:
        for name in ("shift", "department", "category"):
            d.execute(insert(tables[name]), [dict(r._mapping) for r in s.execute(select(tables[name]))])
        first_micro = s.execute(text("SELECT path FROM area WHERE level='micro_grid' ORDER BY id LIMIT 1")).scalar()
        codes = first_micro.strip("/").split("/")
        areas = [dict(r._mapping) for r in s.execute(select(tables["area"]).where(
            tables["area"].c.code.in_(codes)).order_by(tables["area"].c.id))]
        d.execute(insert(tables["area"]), areas)
        staff = [dict(r._mapping) for r in s.execute(select(tables["staff"]).where(
            tables["staff"].c.area_id.in_([a["id"] for a in areas])))]
        d.execute(insert(tables["staff"]), staff)
    eid = new_event(engine, key="PG-RACE")
    ids = [st["id"] for st in staff]
    barrier = threading.Barrier(16)
    outcomes = []

    def worker(i):
        barrier.wait()
        try:
            with engine.begin() as conn:
                dispatch(conn, eid, ids[i % len(ids)], f"领导{i}", NOW)
            outcomes.append("ok")
        except DispatchError:
            outcomes.append("refused")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 15
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM event_audit WHERE action='派单'")).scalar() == 1


def test_drills_measure_response_and_never_count_in_kpis(engine):
    from governance.events.drills import drill_report, list_drills, start_drill
    from governance.figures.kpis import compute_kpis

    with engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
        path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": focus}).scalar()
        before = compute_kpis(conn, path, "today", NOW + timedelta(hours=1))
    with engine.begin() as conn:
        drill_id = start_drill(conn, focus, 12, "街道指挥中心", NOW, seed=3)
        ids = [r[0] for r in conn.execute(text("SELECT id FROM event WHERE source='drill' AND source_key LIKE :k "
                                               "ORDER BY id"), {"k": f"DRILL-{drill_id}-%"})]
        for i, eid in enumerate(ids[:5]):
            advance(conn, eid, "handle", "网格员", NOW + timedelta(minutes=10 * (i + 1)))
    with engine.connect() as conn:
        report = drill_report(conn, drill_id, NOW + timedelta(hours=1))
        after = compute_kpis(conn, path, "today", NOW + timedelta(hours=1))
        drills = list_drills(conn)
    assert len(ids) == 12 and drills[0]["drill_id"] == drill_id and drills[0]["events"] == 12
    assert sum(r["sent"] for r in report) == 12 and sum(r["accepted"] for r in report) == 5
    medians = [r["median_minutes"] for r in report if r["median_minutes"] is not None]
    assert medians and all(10 <= m <= 50 for m in medians)
    assert after == before  # drills never count
    with pytest.raises(ValueError):
        with engine.begin() as conn:
            start_drill(conn, focus, 0, "x", NOW)


def test_bulk_dispatch_sends_each_to_its_own_grid_and_reports_failures(engine):
    from governance.events.dispatch import bulk_dispatch

    a = new_event(engine, key="BULK-A")
    b = new_event(engine, key="BULK-B", status="handle")  # already being handled: refused, not lost
    result = bulk_dispatch(engine.begin, [a, b], "街道指挥中心", NOW)
    assert result["dispatched"] == [a]
    assert result["failed"][0][0] == b and "不能派单" in result["failed"][0][1]
