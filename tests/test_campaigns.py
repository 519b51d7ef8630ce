"""按期走访率 and 敲门行动 on a controlled clock, on SQLite and PostgreSQL (`--db postgresql`).

按期走访率 is checked on tasks due and done at chosen times, against figures worked out by hand. A campaign
makes one task per household of its group in its area — counted independently from the registry tables —
assigned to the micro-grid's worker like a plan round; starting it again makes nothing twice (a household new
in the registry since gets its task); its progress per area moves as visits are recorded."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from dashboard.components.visit_kpi import on_time_text, visit_text
from governance.people import campaigns
from governance.people import visits
from governance.models import VisitCampaign
from governance.models import AccessLog, Area
from governance.models import Household, Resident, VisitTask

from .conftest import WORLD_NOW

H, D = timedelta(hours=1), timedelta(days=1)


def _task(hid: int, path: str, due, done=None) -> dict:
    return {"household_id": hid, "plan": "elderly_alone", "campaign": None, "campaign_id": None, "area_path": path,
            "staff_id": None, "created_at": WORLD_NOW - 10 * D, "due_at": due, "done_at": done, "done_by": None,
            "note": None, "needs": None, "event_id": None}


def _path(conn, code: str) -> str:
    return conn.execute(select(Area.path).where(Area.code == code)).scalar_one()


def _households(conn, group: str, path: str) -> set[int]:
    """Open, placed households of the area with an active member of the group — straight from the tables."""
    return set(conn.execute(text(
        "SELECT DISTINCT h.id FROM household h JOIN resident r ON r.household_id = h.id "
        "WHERE h.closed_at IS NULL AND h.area_path IS NOT NULL AND h.area_path LIKE :p "
        "AND r.closed_at IS NULL AND r.groups LIKE :g"), {"p": path + "%", "g": f"%,{group},%"}).scalars())


def test_on_time_rate_on_tasks_due_and_done_at_chosen_times(engine):
    now = WORLD_NOW
    with engine.begin() as conn:
        grid = conn.execute(select(Area.path).where(Area.level == "micro_grid").order_by(Area.path)).scalars().first()
        conn.execute(delete(VisitTask).where(VisitTask.area_path == grid))
        conn.execute(insert(VisitTask), [
            _task(1, grid, now - 3 * D, now - 4 * D),   # done before due: counted, on time
            _task(2, grid, now - 2 * D, now - 2 * D),   # done exactly at its due time: on time
            _task(3, grid, now - 2 * D, now - 1 * D),   # a day late
            _task(4, grid, now - 1 * D),                # missed: counted, not done
            _task(5, grid, now + 2 * D),                # not due yet, not done: not counted
            _task(6, grid, now + 3 * D, now - H),       # done early, before its due time: counted, on time
            _task(7, grid, now - 5 * D, now - 2 * D),   # three days late
        ])
        fig = visits.visit_figures(conn, grid, now)
    # by hand: counted 1,2,3,4,6,7 = 6; done 1,2,3,6,7 = 5; on time 1,2,6 = 3
    assert (fig.due, fig.done, fig.on_time) == (6, 5, 3)
    assert fig.completion == pytest.approx(500 / 6) and fig.on_time_rate == pytest.approx(60.0)
    assert visit_text(fig) == "走访完成率 83.3%" and on_time_text(fig) == "按期走访率 60.0%"
    assert on_time_text(visits.VisitFigures(4, 2, 2)) == "按期走访率 <3 户"  # two visits point at households
    assert on_time_text(visits.VisitFigures(4, 0, 0)) == "按期走访率 —"


def test_due_date_means_the_end_of_that_day_in_shanghai():
    now = WORLD_NOW  # 2026-11-20 12:00 in Shanghai
    assert campaigns.due_time(date(2026, 11, 25), now) == datetime(2026, 11, 25, 16, 0)  # 11-26 00:00 +08:00
    assert campaigns.due_time(None, now) == datetime(2026, 11, 27, 16, 0)  # default: 7 days from today
    assert campaigns.due_time(date(2026, 11, 20), now) == datetime(2026, 11, 20, 16, 0)  # today is allowed
    with pytest.raises(campaigns.CampaignError, match="截止日期不能早于今天"):
        campaigns.due_time(date(2026, 11, 19), now)


def test_campaign_reaches_every_household_once_and_its_progress_moves(engine, world_engine):
    now, group, name = WORLD_NOW, "elderly_alone", "敲门行动·独居老人（测试）"
    with engine.begin() as conn:
        comm = _path(conn, world_engine.accounts["community"])
        expected = _households(conn, group, comm)
        assert len(expected) >= 5
        done = campaigns.start(conn, name, group, comm, "测试community", now, date(2026, 11, 25))
    assert (done.made, done.total, done.existed) == (len(expected), len(expected), False)
    with engine.begin() as conn:  # started again (a double click, a second leader): nothing twice
        again = campaigns.start(conn, name, group, comm, "测试leader", now + H, date(2026, 12, 30))
    assert (again.campaign_id, again.made, again.total, again.existed) == (done.campaign_id, 0, len(expected), True)
    with engine.connect() as conn:
        tasks = conn.execute(select(VisitTask).where(VisitTask.campaign_id == done.campaign_id)).all()
        workers = {p: s for p, s, _ in sorted(conn.execute(text(
            "SELECT a.path, s.id, s.role FROM staff s JOIN area a ON a.id = s.area_id "
            "WHERE s.role IN ('micro_grid_worker', 'grid_worker')")).all(),
            key=lambda r: (r[2] != "micro_grid_worker", r[1]), reverse=True)}  # the micro-grid's own wins
        logged = conn.execute(select(AccessLog.actor, AccessLog.detail).where(
            AccessLog.action == "visit_campaign", AccessLog.target == f"campaign:{done.campaign_id}")
            .order_by(AccessLog.id)).all()
    assert {t.household_id for t in tasks} == expected and len(tasks) == len(expected)
    assert {t.due_at for t in tasks} == {datetime(2026, 11, 25, 16, 0)}  # the first start's due date stands
    assert all(t.campaign == name and t.plan == "campaign" and t.area_path.startswith(comm) for t in tasks)
    for t in tasks:  # the micro-grid's worker, else its general grid's (as the scheduler's rounds)
        parent = t.area_path.rsplit("/", 2)[0] + "/"
        assert t.staff_id == workers.get(t.area_path, workers.get(parent)) and t.staff_id is not None
    assert [a for a, _ in logged] == ["测试community", "测试leader"]
    assert f"新增 {len(expected)} / 共 {len(expected)} 户" in logged[0][1] and "新增 0 /" in logged[1][1]

    # a household of the group new in the registry: a new start gives it its task, and only it
    first = tasks[0]
    with engine.begin() as conn:
        hid = conn.execute(insert(Household).returning(Household.id), [{
            "hh_key": "KNOCK-TEST-1", "address": "测试地址", "area_id": None, "area_path": first.area_path,
            "unplaced": False, "closed_at": None, "updated_at": now}]).scalar_one()
        conn.execute(insert(Resident), [{
            "id_hmac": "k" * 64, "id_masked": "510107********0000", "name": "测试老人", "household_id": hid,
            "groups": f",{group},", "status": "active", "row_hash": "x", "updated_at": now, "residence": "resident"}])
        third = campaigns.start(conn, name, group, comm, "测试community", now + 2 * H)
        with pytest.raises(IntegrityError):  # the database itself holds one task per campaign and household
            with conn.begin_nested():
                conn.execute(insert(VisitTask), [{**_task(hid, first.area_path, now), "campaign_id": done.campaign_id}])
    assert (third.made, third.total) == (1, len(expected) + 1)

    # on the phone: the worker's list holds the campaign's task, marked with its name
    with engine.connect() as conn:
        mine = [t for t in visits.open_tasks_for_staff(conn, first.staff_id, now) if t["id"] == first.id]
    assert mine and mine[0]["what"] == name and mine[0]["campaign"] == name

    # visits recorded: two by the due date (one at 23:59 of it), one the morning after
    picks = sorted(tasks, key=lambda t: t.id)[:3]
    when = [now + D, datetime(2026, 11, 25, 15, 59), datetime(2026, 11, 25, 16, 1)]
    with engine.begin() as conn:
        for t, at in zip(picks, when):
            assert visits.record_visit(conn, t.id, t.staff_id, at, note="在家", actor="w")
    with engine.connect() as conn:
        rows = campaigns.progress(conn, done.campaign_id)
        listed = [c for c in campaigns.campaigns_in(conn, (comm,)) if c["id"] == done.campaign_id]
        children = dict(conn.execute(select(Area.path, Area.code).where(Area.parent_id == select(Area.id).where(
            Area.path == comm).scalar_subquery())).all())
    total = rows[-1]
    assert (total["name"], total["total"], total["done"], total["on_time"]) == ("合计", len(expected) + 1, 3, 2)
    assert sum(r["total"] for r in rows[:-1]) == total["total"] and sum(r["done"] for r in rows[:-1]) == 3
    by_child: dict[str, list] = {}
    for t, at in zip(picks, when):
        code = next(c for p, c in children.items() if t.area_path.startswith(p))
        by_child.setdefault(code, []).append(at <= t.due_at)
    for code, marks in by_child.items():
        row = next(r for r in rows if r["code"] == code)
        assert (row["done"], row["on_time"]) == (len(marks), sum(marks))
    assert listed and (listed[0]["total"], listed[0]["done"], listed[0]["on_time"], listed[0]["group"]) == (
        len(expected) + 1, 3, 2, "独居老人")
    assert campaigns.rate(2, 3) == "66.7%" and campaigns.rate(0, 0) == "—"
    with engine.connect() as conn:  # another community's staff do not see it; the sub-district's leader does
        other = _path(conn, world_engine.accounts["community_b"])
        assert done.campaign_id not in {c["id"] for c in campaigns.campaigns_in(conn, (other,))}
        subdistrict = _path(conn, world_engine.accounts["focus"])
        assert done.campaign_id in {c["id"] for c in campaigns.campaigns_in(conn, (subdistrict,))}


def test_bad_starts_are_refused_in_chinese_and_leave_nothing(engine, world_engine):
    with engine.connect() as conn:
        comm = _path(conn, world_engine.accounts["community"])
        before = conn.execute(select(func.count()).select_from(VisitCampaign)).scalar()
        grid = conn.execute(text(  # a micro-grid of the community without a household of 留守儿童
            "SELECT a.path FROM area a WHERE a.level = 'micro_grid' AND a.path LIKE :p AND NOT EXISTS ("
            "SELECT 1 FROM household h JOIN resident r ON r.household_id = h.id WHERE h.area_path = a.path "
            "AND r.groups LIKE '%,left_behind_child,%') ORDER BY a.path LIMIT 1"), {"p": comm + "%"}).scalar()
    for args, msg in [(("x", "nobody", comm), "请选择特殊人群"), (("长" * 61, "disabled", comm), "名称过长"),
                      (("", "left_behind_child", grid), "没有留守儿童的在册户")]:
        with pytest.raises(campaigns.CampaignError, match=msg):
            with engine.begin() as conn:
                campaigns.start(conn, *args, "t", WORLD_NOW)
    with pytest.raises(campaigns.CampaignError, match="截止日期不能早于今天"):
        with engine.begin() as conn:
            campaigns.start(conn, "", "disabled", comm, "t", WORLD_NOW, date(2026, 1, 1))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(VisitCampaign)).scalar() == before
        assert campaigns.default_name("disabled") == "敲门行动·残疾人"
