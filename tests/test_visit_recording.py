"""关爱走访 cannot be backdated (#19): the server keeps when it received a visit (`visit_task.recorded_at`) beside the
time the phone claimed; a claimed time in the future, before the task, or earlier than the receipt by more than
the offline allowance (people.yaml `visit_recording`) is refused in Chinese and stores nothing; 按期走访率 counts a
visit on time only when claimed by its due time and received within the allowance of it. SQLite and
`--db postgresql` (the `engine` and `world_engine` fixtures follow `--db`)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text

from governance.accounts.accounts import create_user
from governance.core.timeutil import to_local
from governance.models import AccessLog, Area, Household, Staff, UserAccount, VisitTask
from governance.people import visit_phone, visits

from .conftest import TEST_PASSWORD, WORLD_NOW, http_session

H, D = timedelta(hours=1), timedelta(days=1)
ALLOW = visits.OFFLINE_ALLOWANCE


def _grid_and_worker(conn) -> tuple[str, int, str]:
    """(micro-grid path, its micro_grid_worker's staff id, micro-grid code)."""
    row = conn.execute(select(Area.path, Staff.id, Area.code).join(Staff, Staff.area_id == Area.id).where(
        Area.level == "micro_grid", Staff.role == "micro_grid_worker").order_by(Area.path).limit(1)).one()
    return row.path, row.id, row.code


def _new_task(conn, path: str, staff: int, due, created=None, done=None, recorded=None) -> int:
    """A visit task of a real household (the phone page shows tasks with their household's address)."""
    hid = conn.execute(select(Household.id).order_by(Household.id).limit(1)).scalar_one()
    return conn.execute(insert(VisitTask).returning(VisitTask.id), [{
        "household_id": hid, "plan": "elderly_alone", "campaign": None, "campaign_id": None,
        "area_path": path, "staff_id": staff, "created_at": created or WORLD_NOW - 7 * D, "due_at": due,
        "done_at": done, "recorded_at": recorded, "done_by": None, "note": None, "needs": None,
        "event_id": None}]).scalar_one()


def _on_time(conn, task_id: int) -> int:
    return int(conn.execute(select(visits.on_time_case(conn)).where(VisitTask.id == task_id)).scalar_one())


def _state(conn, task_id: int):
    return conn.execute(select(VisitTask.done_at, VisitTask.recorded_at).where(VisitTask.id == task_id)).one()


def test_the_allowance_is_data_checked_at_start():
    assert ALLOW == timedelta(hours=24)  # people.yaml: visit_recording.offline_allowance_hours: 24
    assert visits.parse_allowance({"offline_allowance_hours": 6}) == 6 * H
    for bad in (None, {}, {"offline_allowance_hours": 0}, {"offline_allowance_hours": 169},
                {"offline_allowance_hours": "24"}, {"offline_allowance_hours": True}, [24]):
        with pytest.raises(ValueError, match="offline_allowance_hours"):
            visits.parse_allowance(bad)


def test_a_backdated_visit_recorded_after_the_allowance_does_not_count_as_on_time(engine):
    now = WORLD_NOW
    with engine.begin() as conn:
        path, staff, _ = _grid_and_worker(conn)
        conn.execute(delete(VisitTask).where(VisitTask.area_path == path))
        due = now - 3 * D
        late = _new_task(conn, path, staff, due)
        # three days after the due time the worker claims a visit an hour before it: refused, nothing stored
        with pytest.raises(visit_phone.VisitError, match="超过离线补录时限（24 小时）"):
            visit_phone.record_from_phone(conn, late, staff, now, to_local(due - H).strftime("%Y-%m-%dT%H:%M"),
                                          "老人在家", "", "网格员甲")
        assert _state(conn, late) == (None, None)
        # recorded as it is now: done, but late
        assert visit_phone.record_from_phone(conn, late, staff, now, "", "老人在家（实际为三天前走访）", "",
                                             "网格员甲").message == "走访已记录"
        assert _state(conn, late) == (now, now) and _on_time(conn, late) == 0
        # the rule itself, whatever the phone was allowed (an allowance changed since, rows written directly):
        claimed_ok_received_late = _new_task(conn, path, staff, due, done=due - H, recorded=due + ALLOW + timedelta(seconds=1))
        received_at_bound = _new_task(conn, path, staff, due, done=due - H, recorded=due + ALLOW)
        claimed_late = _new_task(conn, path, staff, due, done=due + timedelta(seconds=1), recorded=due + H)
        legacy = _new_task(conn, path, staff, due, done=due)  # before migration 0026: received when done
        assert [_on_time(conn, t) for t in (claimed_ok_received_late, received_at_bound, claimed_late, legacy)] == \
            [0, 1, 0, 1]
        fig = visits.visit_figures(conn, path, now)
    # by hand: five tasks, all done; on time: received_at_bound and legacy
    assert (fig.due, fig.done, fig.on_time) == (5, 5, 2) and fig.on_time_rate == 40.0


def test_a_future_time_or_one_before_the_task_is_refused(engine):
    now = WORLD_NOW
    with engine.begin() as conn:
        path, staff, _ = _grid_and_worker(conn)
        task = _new_task(conn, path, staff, now + 5 * D, created=now - 2 * D)
        for claimed, reason in ((now + H, "不能晚于现在"), (now - 2 * D - H, "早于任务下达时间"),
                                ("昨天下午", "格式不正确")):
            value = claimed if isinstance(claimed, str) else to_local(claimed).strftime("%Y-%m-%dT%H:%M")
            with pytest.raises(visit_phone.VisitError, match=reason):
                visit_phone.record_from_phone(conn, task, staff, now, value, "走访情况", "", "网格员甲")
            assert _state(conn, task) == (None, None)
        # a phone clock a few minutes ahead is no error
        visit_phone.record_from_phone(conn, task, staff, now, to_local(now + 5 * timedelta(minutes=1))
                                      .strftime("%Y-%m-%dT%H:%M"), "走访情况", "", "网格员甲")
        assert _state(conn, task) == (now + 5 * timedelta(minutes=1), now)


def test_an_offline_visit_synced_within_the_allowance_counts_on_time(engine):
    now = WORLD_NOW
    with engine.begin() as conn:
        path, staff, _ = _grid_and_worker(conn)
        due = now - 3 * H
        task = _new_task(conn, path, staff, due)
        claimed = now - 5 * H  # made offline two hours before the due time, synced three hours after it
        # the phone's queue sends the moment it queued the visit (ISO, UTC) when no time was typed
        logged_before = conn.execute(select(func.max(AccessLog.id))).scalar() or 0  # the world's log is shared
        visit_phone.record_from_phone(conn, task, staff, now, claimed.isoformat() + "Z", "老人在家", "需要助餐",
                                      "网格员甲")
        assert _state(conn, task) == (claimed, now) and _on_time(conn, task) == 1
        assert conn.execute(select(AccessLog.at).where(AccessLog.action == "visit_record", AccessLog.id > logged_before,
                                                        AccessLog.target == f"visit:{task}")).scalar_one() == now


def test_the_phone_route_refuses_a_backdated_visit_and_keeps_the_receipt_time(world_engine, live_server,
                                                                             monkeypatch):
    from dashboard.runtime import current

    monkeypatch.setattr(current(), "clock", lambda: WORLD_NOW)
    with world_engine.begin() as conn:
        path, staff, code = _grid_and_worker(conn)
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "recordworker")).first() is None:
            create_user(conn, "recordworker", TEST_PASSWORD, "grid_worker", code, WORLD_NOW,
                        display_name="补录测试网格员", staff_id=staff)
        task = _new_task(conn, path, staff, WORLD_NOW - 2 * H)
    try:
        s = http_session(world_engine, live_server, "recordworker")

        def post(claimed):
            return s.post(live_server + "/api/v1/worker/visits", data={
                "request_id": f"rec{task}x{claimed:%H%M%S}".ljust(16, "0"), "visit_id": str(task),
                "visited_at": to_local(claimed).strftime("%Y-%m-%dT%H:%M"), "note": "老人在家", "needs": ""})

        r = post(WORLD_NOW - 2 * H - ALLOW)  # before the due time, but a day and more before it reached us
        assert r.status_code == 422 and "超过离线补录时限" in r.json()["error"]
        r = post(WORLD_NOW + 2 * H)
        assert r.status_code == 422 and r.json()["error"] == "走访时间不能晚于现在，请核对手机时间"
        with world_engine.connect() as conn:
            assert _state(conn, task) == (None, None)
        claimed = (WORLD_NOW - 4 * H).replace(second=0, microsecond=0)
        r = post(claimed)
        assert r.status_code == 200 and r.json()["message"] == "走访已记录"
        with world_engine.connect() as conn:
            assert _state(conn, task) == (claimed, WORLD_NOW) and _on_time(conn, task) == 1
            assert conn.execute(text("SELECT COUNT(*) FROM visit_task WHERE id = :t AND recorded_at IS NOT NULL "
                                     "AND done_at <= due_at"), {"t": task}).scalar() == 1
    finally:
        with world_engine.begin() as conn:
            conn.execute(delete(VisitTask).where(VisitTask.id == task))
