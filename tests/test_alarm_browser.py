"""Issue #18 in real headless Chromium: the wall in 预警等级, the 预警质量 page, shelving on 督办与搁置."""
import pytest
from sqlalchemy import select, text

from governance.alerts.alarm_mgmt import load_alarm_rules, unshelve
from governance.alerts.alarm_quality import alarm_quality
from governance.reports.area_stats import child_figures
from governance.models import AccessLog, RaisedWarning
from governance.alerts.warning_store import scope_from_table
from governance.alerts.warnings import load_rules

from .conftest import WORLD_NOW, screenshot
from .test_kpis import FOCUS

pytestmark = pytest.mark.browser


def test_the_wall_in_warning_level_separates_areas_and_lists_what_to_act_on_first(world_engine, live_server,
                                                                                   page_factory):
    page = page_factory(1920, 1080)
    page.goto(live_server + "/?metric=warning")
    page.wait_for_function("window.gridCockpit && window.gridCockpit.drawn.community", timeout=30000)
    page.wait_for_selector("#warnings-panel button.warn-title")
    page.wait_for_timeout(800)
    shot = screenshot(page, "alarm-wall-warning-level")
    with world_engine.connect() as conn:
        table = scope_from_table(conn, FOCUS, WORLD_NOW)
        communities = child_figures(conn, FOCUS, "community", "today", WORLD_NOW, load_rules(), table)
    colours = {f.warning for f in communities.values()}
    assert len(colours) >= 2, colours  # areas differ in colour: not a wall of one red
    assert "red" not in colours or sum(f.warning == "red" for f in communities.values()) <= 3
    # the first event rows are the table's most urgent: red first, the most recent first
    buttons = page.locator("#warnings-panel button.warn-title")
    shown = [buttons.nth(i).get_attribute("data-event") for i in range(min(3, buttons.count()))]
    want = table.most_urgent(3)
    assert [int(s) for s in shown] == want[:len(shown)]
    summary = page.inner_text("#warnings-panel")
    assert f"督办 {table.off_list['supervised']} 件" in summary
    assert shot.exists()


def test_the_alarm_quality_page_shows_the_warning_table_s_figures(world_engine, live_server, page_factory):
    page = page_factory(1600, 1000)
    page.goto(live_server + "/alarm-quality")
    page.wait_for_selector(".aq-rate .main-svg", timeout=30000)
    page.wait_for_timeout(800)
    screenshot(page, "alarm-quality")
    with world_engine.connect() as conn:  # independent SQL over the same rows
        listed = dict(conn.execute(text(
            "SELECT level, COUNT(*) FROM warning WHERE cleared_at IS NULL AND kind IN ('event','grid') "
            "AND supervised_at IS NULL AND flood_id IS NULL AND (shelved_until IS NULL OR shelved_until <= :n) "
            "AND area_path LIKE :p GROUP BY level"), {"n": WORLD_NOW, "p": FOCUS + "%"}).all())
        q = alarm_quality(conn, FOCUS, WORLD_NOW, load_alarm_rules())
    red = 100 * listed.get("red", 0) / sum(listed.values())
    assert f"{red:.1f}%" in page.inner_text(".aq-cards") and abs(100 * q.share("red") - red) < 1e-9
    assert "上限 6 条/小时" in page.inner_text(".aq-rate")


def test_community_staff_shelve_a_warning_with_a_reason_in_the_browser(world_engine, live_server, page_factory):
    page = page_factory(1600, 1000, user="community")
    page.goto(live_server + "/supervision")
    page.wait_for_selector(".supervision-table", timeout=30000)
    buttons = page.locator(".shelve-row button")
    if buttons.count() == 0:
        pytest.skip("no red or orange event warning on this community's list")
    wid = int(buttons.first.get_attribute("id").split('"warning":')[1].split("}")[0].split(",")[0])
    buttons.first.click()
    page.wait_for_function("document.querySelector('#shelve-msg').innerText.includes('原因')")  # no reason: refused
    page.fill("#shelve-reason", "已电话联系物业，明早上门处理")
    buttons.first.click()
    page.wait_for_function("document.querySelector('#shelve-msg').innerText.includes('已搁置')")
    screenshot(page, "alarm-supervision-shelved")
    try:
        with world_engine.connect() as conn:
            w = conn.execute(select(RaisedWarning).where(RaisedWarning.id == wid)).one()
            log = conn.execute(select(AccessLog).where(AccessLog.target == f"warning:{wid}",
                                                       AccessLog.action == "shelve_warning")).all()
        assert w.shelve_reason == "已电话联系物业，明早上门处理" and w.shelved_until > WORLD_NOW and len(log) == 1
        assert "已电话联系物业" in page.inner_text(".shelved-table")
    finally:  # the session's world is shared: put the warning back on the list
        with world_engine.begin() as conn:
            unshelve(conn, wid, "test", WORLD_NOW)
