"""The 工作简报 page in a real browser: a leader generates a monthly report and downloads it; a community's
staff sees only their own community's reports."""
import pytest
from sqlalchemy import select

from governance.reports.briefs import generate
from governance.models import Brief

from .conftest import WORLD_NOW, screenshot

pytestmark = pytest.mark.browser


def test_leader_generates_and_downloads_a_report(world_engine, live_server, page_factory):
    acc = world_engine.accounts
    other = generate(world_engine, acc["communities"][1], "weekly", WORLD_NOW, actor="test")
    page = page_factory(1366, 768, user="leader")
    page.goto(live_server + "/briefs")
    page.wait_for_selector("#brief-generate")
    page.click("#brief-kind")
    page.get_by_role("option", name="月报").click()
    page.click("#brief-generate")
    page.wait_for_selector("#brief-msg:has-text('已生成')", timeout=60_000)
    with world_engine.connect() as conn:
        newest = conn.execute(select(Brief.id, Brief.area_code, Brief.kind, Brief.generated_by)
                              .order_by(Brief.id.desc())).first()
    assert (newest.area_code, newest.kind, newest.generated_by) == (acc["focus"], "monthly", "测试leader")
    row = page.locator(f"tr[data-brief='{newest.id}']")
    assert "月报" in row.inner_text() and "2026年10月" in row.inner_text()
    assert page.locator(f"tr[data-brief='{other}']").count() == 1  # the sub-district leader sees its communities'
    screenshot(page, "briefs-page-leader")
    with page.expect_download() as info:
        row.locator("a.brief-pdf").click()
    assert info.value.suggested_filename.endswith(f"-{newest.id}.pdf")
    with open(info.value.path(), "rb") as f:
        assert f.read(4) == b"%PDF"

    page.goto(live_server + "/")
    page.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
    assert "工作简报" in page.locator(".page-links a").all_inner_texts()

    staff = page_factory(1366, 768, user="community")
    staff.goto(live_server + "/briefs")
    staff.wait_for_selector("#brief-generate")
    assert staff.locator(f"tr[data-brief='{newest.id}']").count() == 0  # the sub-district's report is not theirs
    assert staff.locator(f"tr[data-brief='{other}']").count() == 0      # nor community B's
