"""One event through the whole loop in the browser: dispatch, accept, finish, close, rate."""
from datetime import timedelta

import pytest
from sqlalchemy import text

from data_sources.base import RawRecord
from data_sources.pipeline import ingest_records
from data_sources.push import PushSource
from governance.figures.kpis import period_bounds

from .conftest import WORLD_NOW, screenshot
from .test_kpis import FOCUS, independent_kpis

pytestmark = pytest.mark.browser


def push_gas_event(engine, key: str, title: str, offset: int, **extra) -> None:
    """Ingest one 燃气隐患 report at the centre of the focus area's n-th micro-grid."""
    with engine.connect() as conn:
        lon, lat = conn.execute(text("SELECT centroid_lon, centroid_lat FROM area WHERE level='micro_grid' "
                                     "AND path LIKE :p ORDER BY id LIMIT 1 OFFSET :o"),
                                {"p": FOCUS + "%", "o": offset}).one()
    ingest_records(engine, PushSource(), [RawRecord(
        {"source_key": key, "category": "燃气隐患", "title": title, "lon": lon, "lat": lat,
         "reported_at": (WORLD_NOW - timedelta(minutes=20)).isoformat() + "+00:00", **extra}, "")], now=WORLD_NOW)


def test_dispatch_loop_end_to_end(world_engine, live_server, page_factory):
    push_gas_event(world_engine, "LOOP-1", "楼道燃气异味", 11, description="三楼楼道有明显燃气味")
    start, _ = period_bounds("month", WORLD_NOW)
    with world_engine.connect() as conn:
        before = independent_kpis(conn, FOCUS, start, WORLD_NOW)["closure_rate"]

    page = page_factory(1366, 768)
    page.goto(live_server + "/events?q=LOOP-1")
    page.wait_for_function("document.querySelector('#events-total')?.innerText === '共 1 件'")
    page.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    page.wait_for_selector(".suggestion button")
    assert "吹哨：燃气公司" in page.inner_text(".dispatch-panel")
    page.locator(".suggestion button").first.dblclick()  # a double click dispatches once
    page.wait_for_selector(".dispatch-msg")
    card = page.inner_text(".event-card")  # the whole card shows what the dispatch did, not only the panel
    assert "任务分办" in card and "派单" in card.split("流转记录")[1]
    assignee = card.split("承办人")[1].split("\n")[1].strip()
    assert assignee not in ("", "—")
    link = page.get_attribute(".worker-link", "href")
    screenshot(page, "dispatch-laptop")
    assert link.startswith("/worker/") and len(link) > len("/worker/") + 40  # a random per-task token

    phone = page_factory(390, 844, user=None)  # the link alone, no session
    phone.goto(live_server + link)
    phone.wait_for_selector("text=楼道燃气异味")
    assert "超期" not in phone.inner_text(".task-state") and "时限" in phone.inner_text(".task-state")
    phone.wait_for_selector("text=签收")
    phone.click("text=签收")
    phone.wait_for_selector("text=提交结果")
    phone.fill("textarea.w-note", "已关闭燃气总阀，燃气公司到场更换软管")
    phone.click("text=记录进展")
    phone.wait_for_selector("text=进展已记录")
    phone.click("text=提交结果")
    phone.wait_for_selector("text=已提交结果")
    screenshot(phone, "worker-phone")

    page.goto(live_server + "/events?q=LOOP-1")
    page.wait_for_function("document.querySelector('#events-total')?.innerText === '共 1 件'")
    page.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    page.wait_for_selector("text=核查办结")
    assert "任务链接已发出（有效至" in page.inner_text(".dispatch-panel")  # never the token again
    assert page.locator(".worker-link").count() == 0
    page.click("text=核查办结")
    page.wait_for_selector("text=保存回访")
    page.click(".visit label:has-text('5 分')")
    page.click("text=保存回访")
    page.wait_for_selector("text=回访已记录")

    with world_engine.connect() as conn:
        ev = conn.execute(text("SELECT * FROM event WHERE source_key='LOOP-1'")).mappings().one()
        actions = [r[0] for r in conn.execute(text("SELECT action FROM event_audit WHERE event_id=:e ORDER BY id"),
                                              {"e": ev["id"]})]
        after = independent_kpis(conn, FOCUS, start, WORLD_NOW)["closure_rate"]
    assert ev["status"] == "closed" and ev["satisfaction"] == 5
    assert actions.count("派单") == 1
    assert actions[-7:] == ["发出任务链接", "签收", "处置进展", "提交结果", "核查办结", "收回任务链接", "回访"]
    assert after > before
    phone.goto(live_server + link)  # 核查办结 revoked the link
    phone.wait_for_selector("text=链接无效、已过期或任务已改派")

    wall = page_factory(1920, 1080)
    wall.goto(live_server + "/?period=month")
    wall.wait_for_selector("[data-kpi=closure_rate]")
    assert wall.inner_text("[data-kpi=closure_rate]") == f"{after:.1f}%"


def test_forged_worker_link_shows_nothing(live_server, page_factory):
    page = page_factory(390, 844, user=None)
    page.goto(live_server + "/worker/forged-token")
    page.wait_for_selector("text=链接无效")


def test_my_tasks_page_shows_the_signed_in_workers_own_tasks(world_engine, live_server, page_factory):
    anonymous = page_factory(390, 844, user=None)
    anonymous.goto(live_server + "/worker/mine")
    anonymous.wait_for_selector(".worker-page a[href='/login']")
    worker = page_factory(390, 844, user="gridworker")
    worker.goto(live_server + "/worker/mine")
    worker.wait_for_selector(".worker-page h1")
    with world_engine.connect() as conn:
        staff_id, name = conn.execute(text("SELECT s.id, s.name FROM user_account u JOIN staff s ON s.id = u.staff_id "
                                           "WHERE u.username = 'gridworker'")).one()
        n = conn.execute(text("SELECT COUNT(*) FROM event WHERE assignee_staff_id = :s "
                              "AND status IN ('assign', 'handle')"), {"s": staff_id}).scalar()
    assert worker.inner_text(".worker-page h1") == f"{name} 的任务（{n}）"
    assert worker.locator("section.task").count() == n


def test_drill_page_starts_a_drill_and_reports_it(world_engine, live_server, page_factory):
    page = page_factory(1366, 768)
    page.goto(live_server + "/drill")
    page.wait_for_selector("#drill-start")
    page.fill("#drill-count", "8")
    page.click("#drill-start")
    page.wait_for_selector("text=已向 8 个微网格派出演练事件")
    page.wait_for_selector(".drill-table tbody tr")
    sent = sum(int(t) for t in page.locator(".drill-table tbody tr td:nth-child(2)").all_inner_texts())
    assert sent == 8
    screenshot(page, "drill-laptop")
    with world_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM event WHERE is_drill")).scalar() >= 8


def test_reassign_escalate_and_acknowledge_from_the_detail(world_engine, live_server, page_factory):
    from governance.alerts.warning_lifecycle import sync_warnings
    from governance.alerts.warnings import load_rules

    push_gas_event(world_engine, "ACT-1", "燃气表异响", 40)
    with world_engine.begin() as conn:
        sync_warnings(conn, FOCUS, WORLD_NOW, load_rules())  # a 紧急 event: red warning
    page = page_factory(1366, 900)
    page.goto(live_server + "/events?q=ACT-1")
    page.wait_for_function("document.querySelector('#events-total')?.innerText === '共 1 件'")
    page.click("#events-table tbody tr:nth-child(2) td:nth-child(4)")
    page.wait_for_selector(".suggestion button")
    page.locator(".suggestion button").first.click()
    page.wait_for_selector("text=已派单")
    page.locator(".suggestion button:has-text('改派')").first.click()
    page.wait_for_selector("text=已改派")
    page.locator("button:has-text('升级到')").first.click()
    page.wait_for_selector("text=处置层级已调整")
    page.click("button:has-text('确认预警')")
    page.wait_for_selector("text=预警已确认")
    with world_engine.connect() as conn:
        eid = conn.execute(text("SELECT id FROM event WHERE source_key='ACT-1'")).scalar()
        actions = [r[0] for r in conn.execute(text("SELECT action FROM event_audit WHERE event_id=:e ORDER BY id"),
                                              {"e": eid})]
        acked = conn.execute(text("SELECT acknowledged_by FROM warning WHERE kind='event' AND subject=:s"),
                             {"s": str(eid)}).scalar()
    assert ["派单", "改派", "手动升级"] == [a for a in actions if a in ("派单", "改派", "手动升级")]
    assert acked == "测试leader"  # recorded under the signed-in person, not a shared desk
