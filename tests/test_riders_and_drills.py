"""核实 before dispatch, riders' 积分 (once per verified report, never for 不属实), drill hours, expiry, per-worker results."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from governance.events.dispatch import DispatchError, advance, dispatch, suggest_assignees, tasks_of, worker_advance
from governance.events.drills import MISSED, expire_drills, start_drill, worker_results
from governance.models import Event, EventAudit, RiderPoints, Staff, TaskLink, Verification
from governance.events.participation import load_participation
from governance.events.verification import export_csv, leaderboard, record

from .test_departments import make_event

T0 = datetime(2026, 11, 20, 2, 0)  # 10:00 Friday in Shanghai


def a_rider(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT s.id, s.phone, s.name, a.path FROM staff s JOIN area a ON a.id = s.area_id "
                                 "WHERE s.role = 'mobile_worker' ORDER BY s.id LIMIT 1")).one()


def best(engine, eid):
    with engine.connect() as conn:
        return suggest_assignees(conn, eid, T0)[0][0].staff_id


def points_of(engine, staff_id):
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(RiderPoints.points), 0))
                            .where(RiderPoints.staff_id == staff_id)).scalar()


def test_a_rider_report_cannot_be_dispatched_before_verification(engine):
    rider = a_rider(engine)
    eid = make_event(engine, "RIDER-1", category="0503", severity=1, status="collect", source="push",
                     phone=rider.phone)
    staff = best(engine, eid)
    with engine.begin() as conn:
        with pytest.raises(DispatchError, match="须先核实"):
            dispatch(conn, eid, staff, "社区", T0)
        assert conn.execute(select(Event.status).where(Event.id == eid)).scalar() == "collect"
    with engine.begin() as conn:
        advance(conn, eid, "discover", "社区核实员", T0 + timedelta(minutes=30), "现场确认路沿石松动")
    with engine.begin() as conn:
        dispatch(conn, eid, staff, "社区", T0 + timedelta(minutes=31))  # now it may go
        v = conn.execute(select(Verification.verdict, Verification.verified_by, Verification.verified_at,
                                Verification.reporter_staff_id).where(Verification.event_id == eid)).one()
        trail = conn.execute(select(EventAudit.action).where(EventAudit.event_id == eid).order_by(EventAudit.id)
                             ).scalars().all()
    assert tuple(v) == (True, "社区核实员", T0 + timedelta(minutes=30), rider.id)
    assert trail[:4] == ["核实立案", "核实", "积分", "派单"]
    # A category without the flag, or a feed that is neither citizens' nor riders', goes straight on.
    gas = make_event(engine, "RIDER-GAS", category="1101", severity=4, status="collect", phone=rider.phone)
    grid = make_event(engine, "GRID-1", category="0503", status="collect", source="grid_events", nth=1)
    with engine.begin() as conn:
        dispatch(conn, gas, best(engine, gas), "社区", T0)
        dispatch(conn, grid, best(engine, grid), "社区", T0)


def test_points_once_per_verified_report_and_never_for_a_false_one(engine):
    rider = a_rider(engine)
    rules = load_participation()
    before = points_of(engine, rider.id)
    true_one = make_event(engine, "RIDER-T", category="0503", severity=1, status="collect", phone=rider.phone)
    severe = make_event(engine, "RIDER-S", category="1201", severity=3, status="collect", phone=rider.phone, nth=2)
    false_one = make_event(engine, "RIDER-F", category="0503", severity=1, status="collect", phone=rider.phone, nth=3)
    citizen = make_event(engine, "CITIZEN-1", category="0503", severity=1, status="collect", source="cases",
                         phone="13800000000", nth=4)
    with engine.begin() as conn:
        advance(conn, true_one, "discover", "社区", T0)
        advance(conn, severe, "discover", "社区", T0)
        advance(conn, false_one, "returned", "社区", T0, "现场未发现问题")
        advance(conn, citizen, "discover", "社区", T0)
    expected = rules.points_for(1) + rules.points_for(3)
    assert (rules.points_for(1), rules.points_for(3)) == (2, 3)  # participation.yaml: base 2, severity 3 → 3
    assert points_of(engine, rider.id) - before == expected
    with engine.begin() as conn:  # verifying again, or the false one re-accepted later, changes nothing
        assert record(conn, true_one, True, "又一人", T0 + timedelta(hours=1)) == 0
        advance(conn, false_one, "discover", "社区", T0 + timedelta(hours=1))
        v = conn.execute(select(Verification.verdict).where(Verification.event_id == false_one)).scalar()
        assert v is False
        assert conn.execute(select(func.count()).select_from(RiderPoints)
                            .where(RiderPoints.event_id == false_one)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(RiderPoints)
                            .where(RiderPoints.event_id == citizen)).scalar() == 0  # a citizen earns no points
    assert points_of(engine, rider.id) - before == expected
    community = "/" + "/".join(rider.path.strip("/").split("/")[:4]) + "/"
    with engine.connect() as conn:
        board = leaderboard(conn, community)
    top = next(r for r in board if r["id"] == rider.id)
    assert top["points"] == before + expected and top["reports"] >= 2 and top["rank"] == 1
    assert "*" in top["phone"] and rider.phone not in top["phone"]  # masked for the export
    csv_text = export_csv(board, str)
    assert csv_text.startswith("\ufeff名次,骑手编号,姓名") and f",{rider.name}," in csv_text


def test_drills_start_only_in_allowed_hours(engine):
    focus = _focus(engine)
    at_0101 = datetime(2026, 11, 19, 17, 1)  # 01:01 on 11-20 in Shanghai
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Event).where(Event.source == "drill")).scalar()
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="08:30–20:00.*01:01"):
            start_drill(conn, focus, 5, "街道", at_0101, seed=1)
        with pytest.raises(ValueError, match="20:00"):
            start_drill(conn, focus, 5, "街道", datetime(2026, 11, 20, 12, 0), seed=1)  # 20:00 is closed
        assert conn.execute(select(func.count()).select_from(Event).where(Event.source == "drill")).scalar() == before
        assert start_drill(conn, focus, 5, "街道", datetime(2026, 11, 20, 0, 30), seed=1)  # 08:30 opens


def _focus(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()


def test_drill_expiry_and_per_worker_results(engine):
    focus = _focus(engine)
    expiry = timedelta(hours=load_participation().drill_expiry_hours)
    with engine.begin() as conn:
        drill = start_drill(conn, focus, 4, "街道", T0, seed=5)
        tasks = conn.execute(select(Event.id, Event.assignee_staff_id).where(
            Event.source == "drill", Event.source_key.startswith(f"DRILL-{drill}-")).order_by(Event.id)).all()
    quick, slow = tasks[0], tasks[1]
    with engine.begin() as conn:
        worker_advance(conn, quick.id, quick.assignee_staff_id, "handle", "甲", T0 + timedelta(minutes=5))
        worker_advance(conn, quick.id, quick.assignee_staff_id, "feedback", "甲", T0 + timedelta(minutes=20), "已处置")
        worker_advance(conn, slow.id, slow.assignee_staff_id, "handle", "乙", T0 + expiry - timedelta(minutes=1))
        missed = [t.id for t in tasks[2:]]

        def still_open():
            return set(conn.execute(select(Event.id).where(Event.id.in_(missed), Event.status == "assign")).scalars())
        expire_drills(conn, T0 + expiry - timedelta(seconds=1))
        assert still_open() == set(missed)
        assert expire_drills(conn, T0 + expiry) >= 2  # the two never 签收'd (and any older drill's)
        assert still_open() == set()
        assert expire_drills(conn, T0 + expiry) == 0  # once
        assert set(conn.execute(select(Event.status).where(Event.id.in_(missed))).scalars()) == {"returned"}
        assert conn.execute(select(func.count()).select_from(EventAudit).where(
            EventAudit.event_id.in_(missed), EventAudit.action == MISSED)).scalar() == 2
        assert all(t["id"] not in missed for t in tasks_of(conn, tasks[2].assignee_staff_id))
        results = {r["event_id"]: r for r in worker_results(conn, drill, T0 + expiry)}
    assert (results[quick.id]["responded"], results[quick.id]["accept_minutes"],
            results[quick.id]["submit_minutes"]) == (True, 5.0, 20.0)
    assert results[slow.id]["accept_minutes"] == expiry.total_seconds() / 60 - 1
    assert results[slow.id]["submit_minutes"] is None and not results[slow.id]["missed"]
    assert all(results[m]["missed"] and not results[m]["responded"] for m in missed)
    with engine.connect() as conn:
        names = dict(conn.execute(select(Staff.id, Staff.name)).all())
    assert results[quick.id]["worker"] == names[quick.assignee_staff_id]
