"""In the browser: a rider's report is 核实'd before dispatch, the whistled department 报到s and replies
on its own page, and the leader sees the 部门响应 figures and the rider's points."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from data_sources.base import RawRecord
from data_sources.pipeline import ingest_records
from data_sources.push import PushSource
from governance.accounts.department_accounts import create_department_user

from .conftest import TEST_PASSWORD, WORLD_NOW, screenshot
from .test_kpis import FOCUS

pytestmark = pytest.mark.browser
KEY = "RIDER-BROWSER-1"


def _open_in_ledger(page, live_server):
    page.goto(live_server + f"/events?q={KEY}")
    page.wait_for_function("document.querySelector('#events-total')?.innerText === '共 1 件'")
    page.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    page.wait_for_selector(".dispatch-panel")


def test_rider_report_verified_whistled_and_answered(world_engine, live_server, page_factory):
    with world_engine.connect() as conn:
        rider = conn.execute(text("SELECT s.id, s.name, s.phone, a.path FROM staff s JOIN area a ON a.id = s.area_id "
                                  "WHERE s.role = 'mobile_worker' AND a.path LIKE :p ORDER BY s.id LIMIT 1"),
                             {"p": FOCUS + "%"}).one()
        lon, lat = conn.execute(text("SELECT centroid_lon, centroid_lat FROM area WHERE level='micro_grid' "
                                     "AND path LIKE :p ORDER BY id LIMIT 1 OFFSET 57"), {"p": FOCUS + "%"}).one()
    ingest_records(world_engine, PushSource(), [RawRecord(
        {"source_key": KEY, "category": "0503", "title": "骑手上报：路沿石松动", "lon": lon, "lat": lat,
         "description": "送餐途中发现路沿石松动", "reporter": {"name": rider.name, "phone": rider.phone},
         "reported_at": (WORLD_NOW - timedelta(minutes=30)).isoformat() + "+00:00"}, "")], now=WORLD_NOW)
    with world_engine.begin() as conn:
        create_department_user(conn, "zhujian", TEST_PASSWORD, "housing", FOCUS.strip("/").split("/")[-1], WORLD_NOW)

    page = page_factory(1366, 900)
    _open_in_ledger(page, live_server)
    panel = page.inner_text(".dispatch-panel")
    assert "须先核实" in panel
    page.locator(".suggestion button").first.click()  # dispatch before 核实: refused, nothing changes
    page.wait_for_selector(".dispatch-msg.error")
    assert "须先核实" in page.inner_text(".dispatch-msg.error")
    page.click("button:has-text('核实属实（立案）')")
    page.wait_for_selector("text=已核实立案")
    assert "核实：属实（测试leader" in page.inner_text(".dispatch-panel")
    assert "吹哨：住建和交通局" in page.inner_text(".dispatch-panel")
    page.locator(".suggestion button").first.click()
    page.wait_for_selector("text=已派单")
    history = page.inner_text(".event-card").split("流转记录")[1]
    assert "核实" in history and "积分" in history and "吹哨报到" in history
    screenshot(page, "verify-and-whistle-laptop")

    dept = page_factory(390, 844, user="zhujian")  # a department on its phone
    dept.goto(live_server + "/")  # no cockpit for a department: it lands on its own page
    dept.wait_for_url("**/dept", timeout=30000)
    card = dept.locator(".whistle-card", has_text="骑手上报：路沿石松动")
    card.wait_for()
    assert "待报到" in card.inner_text() and "报到时限：" in card.inner_text()
    card.locator("button", has_text="报到").click()
    dept.wait_for_selector("text=已报到")
    card.locator("button", has_text="回复").click()  # empty reply: refused, in Chinese
    dept.wait_for_selector("text=请填写回复内容")
    card.locator("textarea").fill("已安排养护班组，明日修复")
    card.locator("button", has_text="回复").click()
    dept.wait_for_selector("text=回复已提交")
    assert "本部门回复：已安排养护班组，明日修复" in card.inner_text()
    screenshot(dept, "department-phone")

    with world_engine.connect() as conn:
        eid = conn.execute(text("SELECT id FROM event WHERE source_key = :k"), {"k": KEY}).scalar()
        w = conn.execute(text("SELECT created_at, checked_in_at, replied_at FROM whistle "
                              "WHERE event_id = :e AND department_code = 'housing'"), {"e": eid}).one()
        actions = [r[0] for r in conn.execute(text("SELECT action FROM event_audit WHERE event_id = :e ORDER BY id"),
                                              {"e": eid})]
        points = conn.execute(text("SELECT SUM(points) FROM rider_points WHERE staff_id = :s"), {"s": rider.id}).scalar()
    assert w.checked_in_at is not None and w.replied_at is not None
    assert actions.count("部门报到") == 1 and actions.count("部门回复") == 1 and actions.count("积分") == 1

    page.goto(live_server + "/dept-response")
    row = page.locator(".dept-table tr[data-dept='housing']")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "住建和交通局" and int(cells[2]) >= 1
    screenshot(page, "dept-response-laptop")

    community = rider.path.strip("/").split("/")[3]
    page.goto(live_server + f"/points?area={community}")
    rider_row = page.locator(f".points-table tr[data-staff='{rider.id}']")
    rider_row.wait_for()
    assert rider_row.locator("td").nth(5).inner_text() == str(points)
    screenshot(page, "points-laptop")
    csv = page.request.get(live_server + f"/api/v1/rider-points.csv?area={community}")
    assert csv.status == 200 and rider.name in csv.text()

    wall = page_factory(1920, 1080)
    wall.goto(live_server + "/")
    wall.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
    links = wall.locator(".page-links a").all_inner_texts()
    assert "部门响应" in links and "骑手积分" in links
    assert wall.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(wall, "cockpit-header-links")
