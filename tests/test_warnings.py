"""Warnings engine: rules with a controlled clock, properties, spikes, lifecycle, webhook, escalation."""
import copy
import json
from datetime import datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, text

from governance.alerts.escalation import LevelError, escalate_due, set_level
from governance.models import Event, EventAudit, Outbox, RaisedWarning
from governance.core.notify import deliver_outbox, robot_message
from governance.alerts.warning_eval import evaluate_scope, grid_spikes
from governance.alerts.warning_lifecycle import acknowledge, sync_warnings
from governance.alerts.warnings import (RANK, RULES_FILE, EventFacts, RulesError, event_colour, grid_colour,
                                 load_rules, parent_colour, parse_rules, poisson_tail, worst)

from .feed_helpers import grid_points
from .feed_server import ScriptedServer

RULES = load_rules()
T0 = datetime(2026, 11, 20, 0, 0)


def facts(**kw):
    base = dict(status="handle", severity=1, reported_at=T0, due_at=T0 + timedelta(hours=72))
    base.update(kw)
    return EventFacts(**base)


def test_colour_follows_the_clock_without_sleeping():
    f = facts()
    assert event_colour(f, T0 + timedelta(hours=10), RULES)[0] == "none"
    assert event_colour(f, T0 + timedelta(hours=40), RULES)[0] == "blue"
    assert event_colour(f, T0 + timedelta(hours=60), RULES)[0] == "yellow"
    assert event_colour(f, T0 + timedelta(hours=73), RULES)[0] == "orange"
    level, reasons = event_colour(f, T0 + timedelta(hours=300), RULES)
    assert level == "red" and any("超期两倍" in r for r in reasons)
    assert event_colour(facts(status="closed"), T0 + timedelta(days=30), RULES)[0] == "none"


def test_gas_leak_is_red_at_once_and_an_overdue_severe_event_is_red():
    gas = facts(severity=4, due_at=T0 + timedelta(hours=2))
    assert event_colour(gas, T0 + timedelta(minutes=1), RULES)[0] == "red"
    severe = facts(severity=3, due_at=T0 + timedelta(hours=24))  # its tier, applied when taken in (test_deadline_tiers)
    assert event_colour(severe, T0 + timedelta(hours=23), RULES)[0] != "red"
    assert event_colour(severe, T0 + timedelta(hours=25), RULES)[0] == "red"


def test_modifiers_not_accepted_repeat_and_rework():
    not_accepted = facts(status="assign", dispatched_at=T0, accepted_at=None)
    level, reasons = event_colour(not_accepted, T0 + timedelta(hours=3), RULES)
    assert level == "yellow" and any("未签收" in r for r in reasons)
    assert event_colour(facts(repeat_count=3), T0 + timedelta(hours=1), RULES)[0] == "orange"
    assert event_colour(facts(rework_count=1), T0 + timedelta(hours=1), RULES)[0] == "yellow"


@settings(max_examples=200, deadline=None)
@given(hours=st.floats(0, 2000), more=st.floats(0, 2000), severity=st.integers(1, 4),
       sla=st.floats(1, 500), repeat=st.integers(1, 5), status=st.sampled_from(["collect", "assign", "handle"]))
def test_colour_never_improves_as_time_passes(hours, more, severity, sla, repeat, status):
    f = facts(severity=severity, due_at=T0 + timedelta(hours=sla), repeat_count=repeat, status=status,
              dispatched_at=T0 if status == "assign" else None)
    early = event_colour(f, T0 + timedelta(hours=hours), RULES)[0]
    later = event_colour(f, T0 + timedelta(hours=hours + more), RULES)[0]
    assert RANK[later] >= RANK[early]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["none", "blue", "yellow", "orange", "red"]), min_size=1, max_size=30),
       st.integers(0, 29), st.integers(0, 50))
def test_parent_never_eases_when_a_child_worsens_and_is_never_worse_than_its_worst_child(children, i, more):
    # A parent is coloured by the share of warned children (issue #18), not by its worst one; but a
    # worse child never makes it greener, and it is never redder than its worst child.
    total = len(children) + more
    level = parent_colour(children, RULES, total)
    assert RANK[level] <= RANK[worst(*children)]
    worse = list(children)
    worse[i % len(worse)] = "red"
    assert RANK[parent_colour(worse, RULES, total)] >= RANK[level]


def test_grid_colour_counts_and_small_numbers_do_not_cry_wolf():
    assert grid_colour({"red": 3}, RULES)[0] == "red"
    assert grid_colour({"red": 1}, RULES)[0] == "orange"
    assert grid_colour({"blue": 1}, RULES)[0] == "blue"
    assert grid_colour({}, RULES)[0] == "none"
    from governance.alerts.warnings import spike_level
    assert spike_level(3, 0.01, RULES)[0] == "none"  # below the minimum count, however rare
    assert spike_level(12, 0.5, RULES)[0] == "red"
    assert spike_level(4, 3.0, RULES)[0] == "none"
    assert poisson_tail(0, 2.0) == 1.0 and 0 < poisson_tail(5, 1.0) < 0.01


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["event"]["elapsed"][0].update(level="purple"), "level must be one of"),
    (lambda d: d["event"].pop("accept_hours"), "missing setting 'accept_hours'"),
    (lambda d: d["grid"]["spike"].update(red_p=0.5), "red_p < orange_p"),
    (lambda d: d["event"]["elapsed"].reverse(), "largest down"),
    (lambda d: d["grid"].update(parent="median"), "parent"),
])
def test_invalid_rules_are_refused_with_a_reason(mutate, message):
    doc = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    mutate(doc)
    with pytest.raises(RulesError, match=message):
        parse_rules(copy.deepcopy(doc))


def _add_events(engine, area_id, path, n, when, code="0102", key="SPIKE", severity=1):
    with engine.begin() as conn:
        conn.execute(insert(Event), [dict(
            source="push", source_key=f"{key}-{i}", category_code=code, title="测试", area_id=area_id,
            severity=severity,
            area_path=path, status="collect", reported_at=when, updated_at=when, due_at=when + timedelta(hours=24),
            lon=104.0, lat=30.6) for i in range(n)])


def test_injected_spike_raises_that_grid_and_no_other(engine):
    now = datetime(2026, 11, 20, 4, 0)
    with engine.connect() as conn:
        before = grid_spikes(conn, "/510100/", now, RULES)
        area_id, path = conn.execute(text("SELECT id, path FROM area WHERE level='micro_grid' "
                                          "ORDER BY id LIMIT 1 OFFSET 7")).one()
    _add_events(engine, area_id, path, 9, now - timedelta(hours=1))
    with engine.connect() as conn:
        after = grid_spikes(conn, "/510100/", now, RULES)
    assert path not in before
    assert set(after) - set(before) == {path}


def test_lifecycle_raise_once_ack_clear_and_webhook_exactly_once(engine):
    now = datetime(2026, 11, 20, 4, 0)
    scope = "/510100/"
    with engine.begin() as conn:  # start from no warnings, whatever other tests did to the world
        conn.execute(text("DELETE FROM warning"))
        conn.execute(text("DELETE FROM outbox"))
        first = sync_warnings(conn, scope, now, RULES)
    assert first.raised > 0 and first.notified == 0  # the backlog is recorded, not broadcast
    with engine.begin() as conn:
        again = sync_warnings(conn, scope, now, RULES)
    assert (again.raised, again.changed, again.cleared, again.notified) == (0, 0, 0, 0)

    (gid, lon, lat), = grid_points(engine, 1)
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE id=:i"), {"i": gid}).scalar()
    _add_events(engine, gid, path, 2, now - timedelta(minutes=5), code="1101", key="GAS", severity=4)  # red
    with engine.begin() as conn:
        third = sync_warnings(conn, scope, now, RULES)
        gas_id = conn.execute(text("SELECT id FROM event WHERE source_key='GAS-0'")).scalar()
        gas_warning = conn.execute(select(RaisedWarning).where(RaisedWarning.kind == "event",
                                                         RaisedWarning.subject == str(gas_id))).one()
    assert third.raised >= 2 and third.notified >= 2 and gas_warning.level == "red"

    server = ScriptedServer()
    server.add("/robot", json.dumps({"errcode": 500}), status=500)
    server.add("/robot", json.dumps({"errcode": 500}), status=500)
    server.add("/robot", json.dumps({"errcode": 0, "errmsg": "ok"}))
    try:
        clock = now
        for _ in range(8):
            deliver_outbox(engine, server.url + "/robot", "wecom", clock, timeout=2)
            clock += timedelta(hours=1)
    finally:
        server.close()
    with engine.connect() as conn:
        outbox = conn.execute(select(Outbox).where(Outbox.channel == "webhook")).all()
    assert all(o.sent_at is not None for o in outbox)
    accepted = [json.loads(body) for status, body in server.answered if status == 200]
    titles = [m["markdown"]["content"].splitlines()[0] for m in accepted]
    assert len(server.answered) == len(outbox) + 2  # two failures, then each sent once
    assert len(titles) == len(set(titles)) == len(outbox)  # one accepted message per notification
    assert sum(o.attempts for o in outbox) == len(outbox) + 2

    with engine.begin() as conn:
        assert acknowledge(conn, gas_warning.id, "值班员张三", now, event_id=gas_id)
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET status='closed', closed_at=:n WHERE source_key LIKE 'GAS-%'"),
                     {"n": now})
        later = sync_warnings(conn, scope, now + timedelta(minutes=1), RULES)
        cleared = conn.execute(select(RaisedWarning).where(RaisedWarning.id == gas_warning.id)).one()
    assert later.cleared >= 2 and cleared.cleared_at is not None and cleared.acknowledged_by == "值班员张三"


def test_robot_formats():
    body = robot_message({"title": "红色预警：事件 #1", "text": "燃气泄漏"}, "dingtalk")
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "红色预警：事件 #1"
    assert "燃气泄漏" in robot_message({"title": "t", "text": "燃气泄漏"}, "wecom")["markdown"]["content"]
    with pytest.raises(ValueError):
        robot_message({"title": "t"}, "slack")


def test_escalation_is_recorded_and_leaders_can_override(engine):
    now = datetime(2026, 11, 20, 4, 0)
    (gid, lon, lat), = grid_points(engine, 1)
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE id=:i"), {"i": gid}).scalar()
    _add_events(engine, gid, path, 1, now - timedelta(hours=30), code="0102", key="ESC")  # SLA 24 h, grid
    with engine.begin() as conn:
        n = escalate_due(conn, now, RULES, path)
        ev = conn.execute(select(Event.id, Event.handling_level).where(Event.source_key == "ESC-0")).one()
        audit = conn.execute(select(EventAudit).where(EventAudit.event_id == ev.id)).all()
    assert n >= 1 and ev.handling_level == "community"
    assert audit[-1].action == "自动升级" and "超过办理时限" in audit[-1].note
    with engine.begin() as conn:
        assert escalate_due(conn, now, RULES, path) == 0  # the clock restarts at the new level
        set_level(conn, ev.id, "grid", "街道主任", "社区已协调物业", now)
        with pytest.raises(LevelError):
            set_level(conn, ev.id, "province", "x", "", now)
    with engine.connect() as conn:
        assert conn.execute(select(Event.handling_level).where(Event.id == ev.id)).scalar() == "grid"


def test_scope_evaluation_marks_repeat_reports(engine):
    now = datetime(2026, 11, 20, 4, 0)
    (gid, lon, lat), = grid_points(engine, 1)
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE id=:i"), {"i": gid}).scalar()
    _add_events(engine, gid, path, 3, now - timedelta(hours=2), code="2201", key="REP")
    with engine.connect() as conn:
        w = evaluate_scope(conn, path, now, RULES)
        ids = [r[0] for r in conn.execute(text("SELECT id FROM event WHERE source_key LIKE 'REP-%'"))]
    assert all(w.events[i][0] == "orange" for i in ids)
