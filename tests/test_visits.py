"""关爱走访 on a controlled clock: rounds to the micro-grid's worker (once per round), a recorded visit moves
走访完成率, a missed visit shows up, and a 敲门行动 campaign reaches every household of its group."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from data_sources.people_jobs import run_visit_round
from governance.people import campaigns
from governance.people import visits
from governance.models import AccessLog, Area, Staff
from governance.models import VisitTask

from .conftest import WORLD_NOW


def test_visit_rounds_kpis_missed_and_campaign(engine):
    now = WORLD_NOW
    with engine.connect() as conn:
        expected = {p.group: conn.execute(text(
            "SELECT COUNT(DISTINCT h.id) FROM household h JOIN resident r ON r.household_id = h.id "
            "WHERE h.closed_at IS NULL AND h.area_path IS NOT NULL AND r.closed_at IS NULL "
            "AND r.groups LIKE :g"), {"g": f"%,{p.group},%"}).scalar() for p in visits.plans()}
    made = run_visit_round(engine, now)
    assert made == sum(expected.values()) > 1000
    assert run_visit_round(engine, now + timedelta(days=1)) == 0  # the round exists: nothing twice
    with engine.connect() as conn:
        by_plan = dict(conn.execute(select(VisitTask.plan, func.count())  # campaigns other tests started aside
                                    .where(VisitTask.campaign_id.is_(None)).group_by(VisitTask.plan)).all())
        assert by_plan == expected
        task = conn.execute(select(VisitTask).where(VisitTask.plan == "elderly_alone").order_by(VisitTask.id)).first()
        worker = conn.execute(select(Staff.id).join(Area, Area.id == Staff.area_id).where(
            Area.path == task.area_path, Staff.role == "micro_grid_worker")).scalar()
        assert task.staff_id == worker and task.due_at == now + timedelta(days=7)
        comm = "/".join(task.area_path.split("/")[:6]) + "/"
        before = visits.visit_figures(conn, comm, now)
    assert before.due == 0 and before.completion is None  # nothing due yet
    with engine.begin() as conn:
        assert visits.open_tasks_for_staff(conn, worker, now)[0]["id"] == task.id
        assert not visits.record_visit(conn, task.id, worker + 100000, now)  # not theirs
        assert visits.record_visit(conn, task.id, worker, now + timedelta(days=2), note="身体好", needs="", actor="w1")
        assert not visits.record_visit(conn, task.id, worker, now + timedelta(days=3))  # once
    later = now + timedelta(days=8)
    with engine.connect() as conn:
        fig = visits.visit_figures(conn, comm, later)
        due = conn.execute(select(func.count()).where(VisitTask.area_path.like(comm + "%"),
                                                      (VisitTask.due_at <= later) | VisitTask.done_at.isnot(None))).scalar()
        assert (fig.due, fig.done, fig.on_time) == (due, 1, 1)
        assert fig.completion == 100.0 / due and fig.on_time_rate == 100.0
        missed = visits.missed_visits(conn, comm, later)
        assert sum(missed.values()) == due - 1  # every other visit due by then was missed
        assert f"visit:{task.id}" in conn.execute(select(AccessLog.target).where(  # other tests' visits beside it
            AccessLog.action == "visit_record")).scalars().all()
    # the next round comes once the weekly task is due
    assert run_visit_round(engine, later) == expected["elderly_alone"]
    with engine.begin() as conn:
        started = campaigns.start(conn, "敲门行动·燃气安全", "disabled", comm, "leader", now)
        n = started.made
        in_comm = conn.execute(text(
            "SELECT COUNT(DISTINCT h.id) FROM household h JOIN resident r ON r.household_id = h.id "
            "WHERE h.closed_at IS NULL AND r.closed_at IS NULL AND r.groups LIKE '%,disabled,%' "
            "AND h.area_path LIKE :p"), {"p": comm + "%"}).scalar()
        assert n == in_comm > 0
        assert campaigns.progress(conn, started.campaign_id)[-1] == {"code": "", "name": "合计", "total": n, "done": 0,
                                                                      "on_time": 0}
