"""敲门行动 walked in a real browser: community staff start one for 独居老人 in their community on /campaigns
(the task count checked against the registry tables; a second start adds nothing), a micro-grid worker of the
community finds the visit on the phone (375×812, marked 敲门行动) and records it, the progress view moves to
1 visited, and the community wall's 走访完成率 / 按期走访率 pills show what a plain SQL count gives."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, text

from governance.accounts.accounts import create_user
from governance.models import VisitCampaign
from governance.models import Area, Staff, UserAccount
from governance.models import VisitTask
from governance.people import visits

from .conftest import TEST_PASSWORD, WORLD_NOW, screenshot, session_cookies
from .test_wall_live import CLIPPED

pytestmark = pytest.mark.browser
NAME = "敲门行动·独居老人（浏览器）"


def _rates(conn, path: str, now) -> tuple[str, str]:
    """The two pills' texts for an area, counted straight from visit_task (not through governance.people.visits)."""
    due, done, on_time = conn.execute(text(
        "SELECT COUNT(*), COUNT(done_at), SUM(CASE WHEN done_at <= due_at THEN 1 ELSE 0 END) FROM visit_task "
        "WHERE area_path LIKE :p AND (due_at <= :now OR done_at IS NOT NULL)"), {"p": path + "%", "now": now}).one()
    assert due >= 3 and done >= 3  # enough for figures (fewer are written "<3 户")
    return f"走访完成率 {100.0 * done / due:.1f}%", f"按期走访率 {100.0 * on_time / done:.1f}%"


def test_leader_starts_a_knock_campaign_worker_visits_progress_moves(world_engine, live_server, page_factory,
                                                                     browser, monkeypatch):
    from dashboard.runtime import current

    comm_code = world_engine.accounts["community"]
    with world_engine.connect() as conn:
        comm = conn.execute(select(Area.path).where(Area.code == comm_code)).scalar_one()
        households = conn.execute(text(
            "SELECT COUNT(DISTINCT h.id) FROM household h JOIN resident r ON r.household_id = h.id "
            "WHERE h.closed_at IS NULL AND h.area_path LIKE :p AND r.closed_at IS NULL "
            "AND r.groups LIKE '%,elderly_alone,%'"), {"p": comm + "%"}).scalar()
    assert households >= 3
    contexts = []
    try:
        leader = page_factory(1366, 900, user="community")
        leader.goto(live_server + "/campaigns")
        leader.wait_for_selector("#camp-start")
        leader.locator("button.camp-group").click()
        leader.get_by_role("option", name="独居老人").click()
        leader.fill("#camp-name", NAME)
        leader.fill("#camp-due", "2026-11-22")  # due by the end of Sunday: 2026-11-22 24:00 in Shanghai
        screenshot(leader, "campaign-leader-start")
        leader.click("#camp-start")
        leader.wait_for_selector(f"#camp-msg:has-text('发起：{households} 户')", timeout=30_000)
        total = leader.locator(".camp-progress-table tr[data-area=total]")
        total.wait_for(timeout=30_000)
        assert total.inner_text().split("\t")[1:3] == ["0", str(households)]
        leader.click("#camp-start")  # started again: nothing twice
        leader.wait_for_selector("#camp-msg:has-text('该行动已存在：新增 0 户')", timeout=30_000)
        with world_engine.begin() as conn:
            cid = conn.execute(select(VisitCampaign.id).where(VisitCampaign.name == NAME)).scalar_one()
            tasks = conn.execute(select(VisitTask.id, VisitTask.staff_id, VisitTask.area_path, VisitTask.household_id)
                                 .where(VisitTask.campaign_id == cid).order_by(VisitTask.id)).all()
            assert len(tasks) == len({t.household_id for t in tasks}) == households
            assert conn.execute(select(VisitCampaign.due_at).where(VisitCampaign.id == cid)).scalar() == \
                datetime(2026, 11, 22, 16, 0)  # 24:00 in Shanghai, stored as UTC
            task = next(t for t in tasks if conn.execute(select(Staff.role).where(Staff.id == t.staff_id)).scalar()
                        == "micro_grid_worker")
            grid_code = conn.execute(select(Area.code).where(Area.path == task.area_path)).scalar_one()
            if conn.execute(select(UserAccount.id).where(UserAccount.username == "knockworker")).first() is None:
                create_user(conn, "knockworker", TEST_PASSWORD, "grid_worker", grid_code, WORLD_NOW,
                            display_name="测试敲门网格员", staff_id=task.staff_id)
            general = conn.execute(select(Area.code).where(Area.level == "general_grid", text(
                ":g LIKE area.path || '%'").bindparams(g=task.area_path))).scalar_one()
        screenshot(leader, "campaign-leader-started")

        # --- the worker of the micro-grid: the visit is on the phone, marked 敲门行动 -----------------------------
        phone = page_factory(375, 812, user="knockworker")
        phone.goto(live_server + "/worker/mine")
        card = phone.locator(f"section.visit-task:has(button[data-visit='{task.id}'])")
        card.wait_for(timeout=30_000)
        assert NAME in card.inner_text() and card.locator(".campaign-badge").inner_text() == "敲门行动"
        assert "走访时限 2026-11-22 24:00" in card.inner_text()
        card.scroll_into_view_if_needed()
        screenshot(phone, "campaign-phone-card")
        card.locator("textarea.v-note").fill("老人在家，身体尚可，已提醒关好燃气")
        card.locator("button.w-visit").click()
        phone.wait_for_selector("text=走访已记录，感谢你的关爱走访", timeout=30_000)
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        screenshot(phone, "campaign-phone-recorded")
        with world_engine.connect() as conn:
            assert conn.execute(select(VisitTask.done_at).where(VisitTask.id == task.id)).scalar() == WORLD_NOW

        # --- the leader's progress moves: 1 visited, on time, in the worker's general grid --------------------
        leader.click("#camp-refresh")
        leader.wait_for_function("document.querySelector('.camp-progress-table tr[data-area=total] td:nth-child(2)')"
                                 ".innerText === '1'", timeout=30_000)
        assert total.inner_text().split("\t") == ["合计", "1", str(households), f"{100 / households:.1f}%", "1",
                                                  "100.0%"]
        assert leader.locator(f".camp-progress-table tr[data-area='{general}']").inner_text().split("\t")[1] == "1"
        listed = leader.locator(f".camp-list tr[data-campaign='{cid}']").inner_text().split("\t")
        assert (listed[4], listed[5]) == ("2026-11-22", f"1 / {households}")
        leader.locator(".forms-progress").scroll_into_view_if_needed()
        screenshot(leader, "campaign-leader-progress")

        # --- a week on: two more visits (one at 23:59 of the due date, one after it) and the wall's pills -------
        later = WORLD_NOW + timedelta(days=8)  # well past the due date
        with world_engine.begin() as conn:
            others = [t for t in tasks if t.id != task.id][:2]
            assert visits.record_visit(conn, others[0].id, others[0].staff_id,  # 11-22 23:59 in Shanghai: on time
                                       WORLD_NOW + timedelta(days=2, hours=11, minutes=59))
            assert visits.record_visit(conn, others[1].id, others[1].staff_id, later)
            pills = _rates(conn, comm, later)
        assert leader.console_errors == [] and phone.console_errors == []
        monkeypatch.setattr(current(), "clock", lambda: later)
        ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=True)
        ctx.add_cookies(session_cookies(world_engine, live_server, "leader", now=later))  # a session of that day
        contexts.append(ctx)
        wall = ctx.new_page()
        wall.console_errors = []
        wall.on("console", lambda msg: wall.console_errors.append(msg.text) if msg.type == "error" else None)
        wall.goto(live_server + f"/?area={comm_code}")
        wall.wait_for_selector("#visit-on-time")
        wall.wait_for_function(f"document.querySelector('#visit-on-time').innerText === {pills[1]!r}")
        assert wall.inner_text("#visit-rate") == pills[0]
        assert pills[1] == "按期走访率 66.7%"  # of the three visits, the one after its due date is late
        wall.wait_for_function("document.querySelectorAll('[data-kpi]').length >= 4")
        # the first render is complete (the trends, drawn last, are drawn) and the side panel's pager has
        # fitted its lists (it runs every second): nothing clipped
        wall.wait_for_function(f"document.querySelectorAll('#trend-row .js-plotly-plot .main-svg').length > 0 "
                               f"&& document.querySelectorAll('.side-panel > ul > li').length > 0 "
                               f"&& ({CLIPPED})().length === 0", timeout=15_000)
        screenshot(wall, "campaign-wall")
        assert wall.evaluate(CLIPPED) == []
        assert wall.console_errors == []
    finally:
        for c in contexts:
            c.close()
        with world_engine.begin() as conn:  # the shared world keeps no visit of this campaign
            cid = conn.execute(select(VisitCampaign.id).where(VisitCampaign.name == NAME)).scalar()
            if cid is not None:
                conn.execute(delete(VisitTask).where(VisitTask.campaign_id == cid))
                conn.execute(delete(VisitCampaign).where(VisitCampaign.id == cid))
