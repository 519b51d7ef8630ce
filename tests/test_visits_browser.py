"""Issue #19, 关爱走访 walked end to end on a controlled clock: the scheduler's visit job makes the round, the
task appears on the micro-grid worker's phone (375×812, household masked, dated deadline, 超期 once past),
the visit recorded on the phone (with 发现问题，上报事件) moves 走访完成率 on the wall — checked against an
independent SQL count — and a missed visit raises its grid warning once the clock passes its due date."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text

from data_sources.people_jobs import run_visit_round
from governance.accounts.accounts import create_user
from governance.models import Area, Event, Intake, UserAccount, RaisedWarning
from governance.models import Resident, VisitTask
from governance.core.privacy import mask_name
from governance.alerts.warning_eval import evaluate_scope
from governance.alerts.warning_lifecycle import sync_warnings
from governance.alerts.warnings import load_rules

from .conftest import TEST_PASSWORD, WORLD_NOW, http_session, screenshot, session_cookies
from .test_wall_live import CLIPPED

ROUND_AT = WORLD_NOW - timedelta(days=8)  # the round was made 8 days ago: weekly visits are 1 day late now
BEFORE_DUE = WORLD_NOW - timedelta(days=2)


def _open(browser, live_server, engine, user, width, height, now):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                              timezone_id="Asia/Shanghai", bypass_csp=True)
    ctx.add_cookies(session_cookies(engine, live_server, user, now=now))
    page = ctx.new_page()
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    return ctx, page


def _expected_rate(conn, path: str, now) -> str:
    """走访完成率 of an area counted straight from the table (not through governance.people.visits)."""
    due, done = conn.execute(text(
        "SELECT COUNT(*), COUNT(done_at) FROM visit_task WHERE area_path LIKE :p "
        "AND (due_at <= :now OR done_at IS NOT NULL)"), {"p": path + "%", "now": now}).one()
    return f"走访完成率 {100.0 * done / due:.1f}%", due, done


def _worker(conn) -> tuple[int, str, str]:
    """(staff id, micro-grid path, code) of a micro-grid worker owed a weekly visit and a longer one."""
    row = conn.execute(text(
        "SELECT t.staff_id, t.area_path FROM visit_task t JOIN staff s ON s.id = t.staff_id "
        "WHERE s.role = 'micro_grid_worker' GROUP BY t.staff_id, t.area_path "
        "HAVING SUM(CASE WHEN t.plan = 'elderly_alone' THEN 1 ELSE 0 END) >= 1 "
        "AND SUM(CASE WHEN t.plan IN ('elderly_empty_nest', 'disabled') THEN 1 ELSE 0 END) >= 1 "
        "ORDER BY t.staff_id LIMIT 1")).one()
    return row.staff_id, row.area_path, row.area_path.strip("/").split("/")[-1]


@pytest.mark.browser
def test_a_visit_plan_walks_from_the_scheduler_to_the_phone_the_wall_and_the_warnings(
        world_engine, live_server, browser, monkeypatch):
    from dashboard.runtime import current

    rt = current()
    made = run_visit_round(world_engine, ROUND_AT)  # the scheduler's leased job, on the controlled clock
    contexts = []
    try:
        assert made > 100 and run_visit_round(world_engine, ROUND_AT + timedelta(hours=1)) == 0
        with world_engine.begin() as conn:
            staff, grid_path, grid_code = _worker(conn)
            if conn.execute(select(UserAccount.id).where(UserAccount.username == "visitworker")).first() is None:
                create_user(conn, "visitworker", TEST_PASSWORD, "grid_worker", grid_code, WORLD_NOW,
                            display_name="测试走访网格员", staff_id=staff)
            tasks = conn.execute(select(VisitTask.id, VisitTask.plan, VisitTask.due_at, VisitTask.household_id)
                                 .where(VisitTask.staff_id == staff).order_by(VisitTask.due_at, VisitTask.id)).all()
            weekly = next(t for t in tasks if t.plan == "elderly_alone")
            longer = next(t for t in tasks if t.plan in ("elderly_empty_nest", "disabled"))
            member = conn.execute(select(Resident.name).where(Resident.household_id == longer.household_id,
                                                              Resident.closed_at.is_(None)).order_by(Resident.id)).scalar()
            comm_code, comm_path = conn.execute(select(Area.code, Area.path).where(  # the worker's community
                Area.level == "community", text(":g LIKE area.path || '%'").bindparams(g=grid_path))).one()

        # --- two days before the weekly visit is due: on the phone, nothing late yet ---------------------------
        monkeypatch.setattr(rt, "clock", lambda: BEFORE_DUE)
        ctx, phone = _open(browser, live_server, world_engine, "visitworker", 375, 812, BEFORE_DUE)
        contexts.append(ctx)
        phone.goto(live_server + "/worker/mine")
        phone.wait_for_selector(".visit-task")
        assert phone.locator(".visit-task").count() == len(tasks)
        assert phone.locator(".visit-task .overdue-badge").count() == 0
        ctx.close()

        # --- now: the weekly visit is a day late -----------------------------------------------------------------
        monkeypatch.setattr(rt, "clock", lambda: WORLD_NOW)
        ctx, phone = _open(browser, live_server, world_engine, "visitworker", 375, 812, WORLD_NOW)
        contexts.append(ctx)
        phone.goto(live_server + "/worker/mine")
        phone.wait_for_selector(".visit-task")
        card_w = phone.locator(f"section.visit-task:has(button[data-visit='{weekly.id}'])")
        card_l = phone.locator(f"section.visit-task:has(button[data-visit='{longer.id}'])")
        assert "超期 1 天" in card_w.inner_text()
        assert "走访时限 " + (weekly.due_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in card_w.inner_text()
        assert "超期" not in card_l.inner_text()
        assert mask_name(member) in card_l.inner_text() and member not in card_l.inner_text()  # masked
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        card_l.scroll_into_view_if_needed()
        screenshot(phone, "visit-phone-card")

        # --- the wall before the visit ---------------------------------------------------------------------------
        wctx, wall = _open(browser, live_server, world_engine, "leader", 1920, 1080, WORLD_NOW)
        contexts.append(wctx)
        wall.goto(live_server + f"/?area={comm_code}")
        wall.wait_for_selector("#visit-rate")
        with world_engine.connect() as conn:
            before, due0, done0 = _expected_rate(conn, comm_path, WORLD_NOW)
        assert done0 == 0 and due0 >= 3
        assert wall.inner_text("#visit-rate") == before == "走访完成率 0.0%"

        # --- the visit, recorded on the phone with a problem reported from it -------------------------------------
        visited = WORLD_NOW - timedelta(minutes=30)  # entered on the phone: half an hour ago
        card_l.locator(".v-when input, input.v-when").first.fill((visited + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
        card_l.locator("textarea.v-note").fill("老人身体尚可，独自在家，燃气灶使用正常")
        card_l.locator("textarea.v-needs").fill("希望每月上门量一次血压")
        card_l.locator("details.v-report summary").click()
        card_l.locator("select.v-category").select_option("2201")
        card_l.locator("textarea.v-report-text").fill("三楼楼道堆放纸箱杂物，影响老人通行")
        screenshot(phone, "visit-phone-form")
        card_l.locator("button.w-visit").click()
        phone.wait_for_selector(f"text=走访已记录，感谢你的关爱走访")
        msg = phone.inner_text(".visit-wrap .dispatch-msg.ok")
        event_id = int(re.search(r"#(\d+)", msg).group(1))
        screenshot(phone, "visit-phone-recorded")
        with world_engine.connect() as conn:
            done = conn.execute(select(VisitTask).where(VisitTask.id == longer.id)).one()
            assert (done.done_at, done.done_by, done.note, done.needs, done.event_id) == (  # the worker, not a role
                visited, "测试走访网格员", "老人身体尚可，独自在家，燃气灶使用正常", "希望每月上门量一次血压", event_id)
            ev = conn.execute(select(Event).where(Event.id == event_id)).one()
            assert (ev.source, ev.source_key, ev.area_path, ev.category_code, ev.channel, ev.reported_at) == (
                "push", f"visit-{longer.id}", grid_path, "2201", "关爱走访", visited)
            assert conn.execute(select(Intake.actor).where(Intake.id == ev.intake_id)).scalar() == "走访:" + conn.execute(
                text("SELECT name FROM staff WHERE id = :s"), {"s": staff}).scalar()  # its 接入 in the history
            assert conn.execute(text("SELECT COUNT(*) FROM access_log WHERE action = 'visit_record' "
                                     "AND target = :t"), {"t": f"visit:{longer.id}"}).scalar() == 1

        # the phone sends it again (its answer was lost): nothing changes, no second event
        s = http_session(world_engine, live_server, "visitworker")
        again = s.post(live_server + "/api/v1/worker/visits", data={
            "request_id": "resend-0001", "visit_id": str(longer.id), "note": "又一次", "report": "1",
            "report_text": "又一次", "category": "2201"}, timeout=30)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        other = http_session(world_engine, live_server, "gridworker")  # not this worker's task
        assert other.post(live_server + "/api/v1/worker/visits", data={
            "request_id": "foreign-0001", "visit_id": str(weekly.id), "note": "x"}, timeout=30).status_code == 422
        with world_engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM event WHERE source_key LIKE 'visit-%'")).scalar() == 1
            assert conn.execute(select(VisitTask.note).where(VisitTask.id == longer.id)).scalar().startswith("老人")
            assert conn.execute(select(VisitTask.done_at).where(VisitTask.id == weekly.id)).scalar() is None

        # --- the wall after: 走访完成率 moved, by exactly the SQL count ----------------------------------------------
        wall.reload()
        wall.wait_for_selector("#visit-rate")
        with world_engine.connect() as conn:
            after, due1, done1 = _expected_rate(conn, comm_path, WORLD_NOW)
        assert (due1, done1) == (due0 + 1, 1)
        wall.wait_for_function(f"document.querySelector('#visit-rate').innerText === {after!r}")
        assert after != before
        wall.wait_for_function("document.querySelectorAll('[data-kpi]').length >= 4")
        # the first render is complete (the trends, drawn last, are drawn) and the side panel's pager has
        # fitted its lists (it runs every second): nothing clipped
        wall.wait_for_function(f"document.querySelectorAll('#trend-row .js-plotly-plot .main-svg').length > 0 "
                               f"&& document.querySelectorAll('.side-panel > ul > li').length > 0 "
                               f"&& ({CLIPPED})().length === 0", timeout=15_000)
        screenshot(wall, "visit-wall")
        assert wall.evaluate(CLIPPED) == []

        # --- missed visits: a grid warning once the clock passes the due date, raised once ------------------------
        rules = load_rules()
        with world_engine.connect() as conn:
            early = evaluate_scope(conn, grid_path, BEFORE_DUE, rules).grids.get(grid_path, ("none", []))
            assert not any("关爱走访" in r for r in early[1])
            missed = conn.execute(text("SELECT COUNT(*) FROM visit_task WHERE area_path = :p AND done_at IS NULL "
                                       "AND due_at < :now"), {"p": grid_path, "now": WORLD_NOW}).scalar()
            assert missed >= 1
        with world_engine.connect() as conn:
            trans = conn.begin()
            try:
                sync_warnings(conn, grid_path, WORLD_NOW, rules, notify=False)
                second = sync_warnings(conn, grid_path, WORLD_NOW, rules, notify=False)
                rows = conn.execute(select(RaisedWarning.level, RaisedWarning.reasons).where(
                    RaisedWarning.kind == "grid", RaisedWarning.subject == grid_code, RaisedWarning.cleared_at.is_(None))).all()
                assert len(rows) == 1 and second.raised == 0
                assert f"关爱走访逾期未访 {missed} 户" in rows[0].reasons and rows[0].level != "none"
            finally:
                trans.rollback()  # the shared world keeps its warnings as they were
        wall.goto(live_server + "/rules")  # the rule in words, from warning_rules.yaml
        wall.wait_for_selector("text=微网格内逾期未访的走访任务 ≥ 1 户")
        assert phone.console_errors == [] and wall.console_errors == []
    finally:
        for c in contexts:
            c.close()
        with world_engine.begin() as conn:  # the shared world owes no visits after this test
            conn.execute(delete(VisitTask))
