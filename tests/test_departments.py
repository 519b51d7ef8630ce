"""吹哨报到 with 报到 (issue #20): department accounts, deadlines, reply, hand-back, overdue warning, 部门响应."""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from governance.accounts.accounts import open_session, resolve_session
from governance.accounts.department_accounts import create_department_user
from governance.events.dispatch import dispatch, suggest_assignees
from governance.accounts.id_scope import refused_ids
from governance.models import Area, Event, EventAudit, RaisedWarning, Whistle
from governance.events.participation import load_participation
from governance.alerts.warning_eval import evaluate_scope
from governance.alerts.warning_lifecycle import sync_warnings
from governance.alerts.warnings import load_rules
from governance.events.whistles import (WhistleError, check_in, hand_back, overdue_counts, reply, response_figures,
                                 whistle_rows)

T0 = datetime(2026, 11, 20, 2, 0)  # 10:00 Friday in Shanghai


def make_event(engine, key: str, category="0101", severity=2, status="discover", source="push",
               phone=None, nth=0) -> int:
    """A fresh event in the nth micro-grid of the world (first community's subtree)."""
    with engine.connect() as conn:
        area_id, path, lon, lat = conn.execute(text(
            "SELECT id, path, centroid_lon, centroid_lat FROM area WHERE level='micro_grid' "
            "ORDER BY id LIMIT 1 OFFSET :n"), {"n": nth}).one()
    with engine.begin() as conn:
        conn.execute(insert(Event), [dict(source=source, source_key=key, category_code=category, title="测试事件",
                                          area_id=area_id, area_path=path, lon=lon, lat=lat, status=status,
                                          severity=severity, reported_at=T0 - timedelta(minutes=10), updated_at=T0,
                                          due_at=T0 + timedelta(hours=240), reporter_phone=phone)])
        return conn.execute(select(Event.id).where(Event.source_key == key)).scalar()


def whistled(engine, eid, departments, at=T0) -> dict[str, int]:
    """Dispatch an event to its best suggestion, whistling `departments`; department → whistle id."""
    with engine.begin() as conn:
        best, _ = suggest_assignees(conn, eid, at)
        dispatch(conn, eid, best[0].staff_id, "街道指挥中心", at, tuple(departments))
        return dict(conn.execute(select(Whistle.department_code, Whistle.id).where(Whistle.event_id == eid)).all())


def test_a_whistle_is_walked_report_reply_and_overdue_warning(engine):
    eid = make_event(engine, "W-1", category="0101", severity=2)  # 违建: 城管执法中队, 住建和交通局
    ids = whistled(engine, eid, ("chengguan", "housing"))
    rules = load_participation()
    with engine.connect() as conn:
        due = conn.execute(select(Whistle.due_at).where(Whistle.id == ids["chengguan"])).scalar()
    assert due == T0 + timedelta(hours=rules.report_hours[2]) == T0 + timedelta(hours=8)
    with engine.begin() as conn:
        check_in(conn, ids["chengguan"], "城管王队", T0 + timedelta(minutes=25), department="chengguan")
        with pytest.raises(WhistleError, match="不能再报到"):  # twice: refused
            check_in(conn, ids["chengguan"], "城管王队", T0 + timedelta(minutes=26), department="chengguan")
        with pytest.raises(WhistleError, match="不属于本部门"):  # another department's request
            check_in(conn, ids["housing"], "城管王队", T0 + timedelta(minutes=26), department="chengguan")
        reply(conn, ids["chengguan"], "已到场，责令当事人三日内自行拆除", "城管王队", T0 + timedelta(hours=3),
              department="chengguan")
    # Before the deadline nobody is overdue; one minute after it, housing (no 报到) is.
    with engine.connect() as conn:
        assert overdue_counts(conn, "/", T0 + timedelta(hours=7, minutes=59)) == {}
        late = T0 + timedelta(hours=8, minutes=1)
        assert overdue_counts(conn, "/", late) == {eid: 1}
        level, reasons = evaluate_scope(conn, "/", late, load_rules()).events[eid]
    assert "1 个吹哨部门超时未报到" in reasons
    assert level == "orange"  # 2 h not accepted would only be yellow: the overdue 报到 makes it orange
    with engine.begin() as conn:
        sync_warnings(conn, "/", late, load_rules(), notify=False)
        w = conn.execute(select(RaisedWarning.level, RaisedWarning.reasons).where(
            RaisedWarning.kind == "event", RaisedWarning.subject == str(eid), RaisedWarning.cleared_at.is_(None))).one()
    assert w.level == "orange" and "1 个吹哨部门超时未报到" in w.reasons
    with engine.begin() as conn:  # housing hands it back: no longer overdue
        with pytest.raises(WhistleError, match="请填写退回原因"):
            hand_back(conn, ids["housing"], "  ", "住建李科", late, department="housing")
        hand_back(conn, ids["housing"], "非住建职责，属城管执法", "住建李科", late, department="housing")
        assert overdue_counts(conn, "/", late) == {}
        trail = conn.execute(select(EventAudit.action, EventAudit.to_value, EventAudit.note).where(
            EventAudit.event_id == eid, EventAudit.field == "departments").order_by(EventAudit.id)).all()
    assert [(a, v) for a, v, _ in trail] == [("吹哨报到", "chengguan,housing"), ("部门报到", "chengguan"),
                                             ("部门回复", "chengguan"), ("部门退回", "housing")]
    assert trail[0].note.startswith("请于 11-20 18:00 前报到")  # 10:00 + 8 h, Shanghai
    assert trail[3].note == "非住建职责，属城管执法"


def test_a_department_is_not_whistled_twice_while_its_request_is_open(engine):
    from governance.events.whistles import open_whistles

    eid = make_event(engine, "W-2", category="0101")
    whistled(engine, eid, ("chengguan",))
    with engine.begin() as conn:
        assert open_whistles(conn, eid, ("chengguan", "housing"), "x", T0 + timedelta(hours=1)) != []
        assert conn.execute(select(Whistle.department_code).where(Whistle.event_id == eid)
                            .order_by(Whistle.id)).scalars().all() == ["chengguan", "housing"]


def test_department_response_figures_match_an_independent_count(engine):
    """报到率, 按时报到率 and medians by hand from the known timeline, and by SQL over the table."""
    plan = {  # department → [(minutes to 报到 or None, minutes to reply or None)]
        "chengguan": [(10, 60), (30, None), (None, None)],
        "housing": [(5, 20), (600, 700)],   # the second 报到 is past the 8 h deadline
    }
    mine = []  # only this test's events: the shared world may hold whistles of other tests
    for n, (dept, items) in enumerate(plan.items()):
        for i, (rep, rpl) in enumerate(items):
            eid = make_event(engine, f"R-{dept}-{i}", category="0101", nth=n * 5 + i)
            mine.append(eid)
            start = T0 + timedelta(hours=i)
            ids = whistled(engine, eid, (dept,), at=start)
            with engine.begin() as conn:
                if rep is not None:
                    check_in(conn, ids[dept], dept, start + timedelta(minutes=rep), department=dept)
                if rpl is not None:
                    reply(conn, ids[dept], "已处理", dept, start + timedelta(minutes=rpl), department=dept)
    now = T0 + timedelta(days=1)
    with engine.connect() as conn:
        figs = {r["department"]: r for r in response_figures(
            whistle_rows(conn, Whistle.event_id.in_(mine), T0 - timedelta(days=1), now), now)}
        sql = {d: (n, k) for d, n, k in conn.execute(text(
            "SELECT department_code, COUNT(*), COUNT(checked_in_at) FROM whistle WHERE event_id IN (%s) "
            "GROUP BY department_code" % ",".join(map(str, mine))))}
    assert figs["chengguan"]["whistled"] == 3 == sql["chengguan"][0]
    assert figs["chengguan"]["checked_in"] == 2 == sql["chengguan"][1]
    assert figs["chengguan"]["report_rate"] == round(2 / 3, 3)
    assert figs["chengguan"]["on_time_rate"] == round(2 / 3, 3)
    assert figs["chengguan"]["median_report_minutes"] == statistics.median([10, 30]) == 20
    assert figs["chengguan"]["median_reply_minutes"] == 60
    assert figs["chengguan"]["overdue"] == 1
    assert figs["housing"]["report_rate"] == 1.0 and figs["housing"]["on_time_rate"] == 0.5
    assert figs["housing"]["median_report_minutes"] == statistics.median([5, 600])
    assert figs["housing"]["median_reply_minutes"] == statistics.median([20, 700])
    # A period that ends before the whistles holds none of them.
    with engine.connect() as conn:
        assert whistle_rows(conn, Whistle.event_id.in_(mine), T0 - timedelta(days=2), T0 - timedelta(seconds=1)) == []
        assert len(whistle_rows(conn, Whistle.event_id.in_(mine), T0 - timedelta(days=2), T0)) == 2  # end counts


def test_department_account_scope_names_only_its_own_requests(engine):
    eid = make_event(engine, "S-1", category="0101")
    ids = whistled(engine, eid, ("chengguan", "housing"))
    with engine.begin() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
        create_department_user(conn, "cg", "long-enough-password", "chengguan", focus, T0)
        with pytest.raises(ValueError, match="未知部门"):
            create_department_user(conn, "nobody", "long-enough-password", "nope", focus, T0)
        uid = conn.execute(text("SELECT id FROM user_account WHERE username='cg'")).scalar()
        token, _ = open_session(conn, T0, user_id=uid)
        p = resolve_session(conn, token, T0)
    assert p.role == "department" and p.department == "chengguan"
    assert p.can("respond_whistle") and not p.can("view_ledger") and not p.can("dispatch")
    with engine.connect() as conn:
        assert refused_ids(conn, p, "whistle", [ids["chengguan"]]) == []
        assert refused_ids(conn, p, "whistle", [ids["housing"]]) == [ids["housing"]]
        assert refused_ids(conn, p, "whistle", [999999]) == [999999]


def test_the_user_command_creates_a_department_account(engine, monkeypatch, capsys):
    import io

    from app import build_parser
    from governance.console.admin_cli import run_admin_command

    with engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
    args = build_parser().parse_args(["user", "gas-desk", "--role", "department", "--department", "gas",
                                      "--area", focus, "--password-stdin"])
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-password\n"))
    assert run_admin_command(args, None, engine) == 0
    bad = build_parser().parse_args(["user", "nodept", "--role", "department", "--area", focus, "--password-stdin"])
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-password\n"))
    assert run_admin_command(bad, None, engine) == 2 and "未知部门" in capsys.readouterr().err
    with engine.connect() as conn:
        row = conn.execute(text("SELECT u.role, d.department_code FROM user_account u JOIN department_account d "
                                "ON d.user_id = u.id WHERE u.username = 'gas-desk'")).one()
        assert conn.execute(text("SELECT COUNT(*) FROM user_account WHERE username = 'nodept'")).scalar() == 0
    assert tuple(row) == ("department", "gas")
