"""统一表单推送 in a real browser: community staff compose a form with a safety question and push it to their
community's workers; the grid worker answers it on a phone-size page (375×812); the staff's progress view
shows the answer, and the safety "否" became exactly one event in the pool."""
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from data_sources.form_events import KEY_PREFIX
from governance.models import FormAssignment, FormPhoto, FormPush
from governance.people import forms
from governance.models import Event

from .conftest import http_session, screenshot
from .photo_helpers import make_jpeg

pytestmark = pytest.mark.browser
TITLE = "燃气安全排查（浏览器）"


def test_pushed_form_reaches_worker_and_answer_shows_in_progress(world_engine, live_server, page_factory):
    leader = page_factory(1366, 900, user="community")
    leader.goto(live_server + "/forms")
    leader.wait_for_selector("#form-push")
    leader.fill("#form-title", TITLE)
    rows = leader.locator(".fq-row")
    rows.nth(0).locator("input[id*='fq-text']").fill("燃气软管是否在有效期内")
    rows.nth(0).locator("[id*='fq-safety'] input").check()
    rows.nth(0).locator("button.fq-cat").click()
    leader.get_by_role("option", name="燃气软管老化").click()
    rows.nth(1).locator("input[id*='fq-text']").fill("灭火器数量")
    rows.nth(1).locator("button.fq-kind").click()
    leader.get_by_role("option", name="数字").click()
    rows.nth(2).locator("input[id*='fq-text']").fill("现场照片")
    rows.nth(2).locator("button.fq-kind").click()
    leader.get_by_role("option", name="照片").click()
    screenshot(leader, "forms-leader-compose")
    leader.click("#form-push")
    leader.wait_for_selector("#form-msg:has-text('已推送')", timeout=30_000)
    with world_engine.connect() as conn:
        fid = conn.execute(select(FormPush.id).where(FormPush.title == TITLE)).scalar_one()
        staff_id = conn.execute(select(FormAssignment.staff_id).where(FormAssignment.form_id == fid)).scalars().all()
    assert len(staff_id) > 1
    leader.wait_for_selector(".form-progress-table tr[data-area=total]")
    assert leader.locator(".form-progress-table tr[data-area=total]").inner_text().split("\t")[1:3] == [
        "0", str(len(staff_id))]
    leader.locator(".forms-progress").scroll_into_view_if_needed()
    screenshot(leader, "forms-leader-pushed")

    phone = page_factory(375, 812, user="gridworker")
    phone.goto(live_server + "/worker/forms")
    card = phone.locator(".wf-card", has_text=TITLE)
    card.wait_for(timeout=30_000)
    assert "安全项" in card.inner_text()
    card.get_by_label("否").check()
    card.locator("input[inputmode=decimal]").fill("两个")
    card.get_by_role("button", name="提交").click()
    card.locator(".dispatch-msg", has_text="请填写数字").wait_for(timeout=30_000)  # bad input: said in Chinese
    card.locator("input[inputmode=decimal]").fill("2")
    card.locator("input[type=file]").set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                            "buffer": b"not a photo"}])
    card.get_by_role("button", name="提交").click()
    card.locator(".dispatch-msg", has_text="照片").wait_for(timeout=30_000)  # checked as the phone page's photos
    photo_dir = Path(cockpit_settings_photo_dir())
    files_before = _files(photo_dir)
    card.locator("input[type=file]").set_input_files(files=[{"name": "gas.jpg", "mimeType": "image/jpeg",
                                                            "buffer": make_jpeg()}])
    card.locator("input[inputmode=decimal]").fill("两个")  # refused with a good photo: the photo is not kept
    card.get_by_role("button", name="提交").click()
    card.locator(".dispatch-msg", has_text="请填写数字").wait_for(timeout=30_000)
    assert _files(photo_dir) == files_before  # a refused submission leaves no file behind
    card.locator("input[inputmode=decimal]").fill("2")
    card.get_by_role("button", name="提交").click()
    card.locator(".dispatch-msg", has_text="已上报 1 条").wait_for(timeout=30_000)
    screenshot(phone, "forms-worker-phone-answered")
    card.get_by_role("button", name="提交").click()  # a double tap stores nothing more
    card.locator(".dispatch-msg", has_text="已提交过").wait_for(timeout=30_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling on the phone

    leader.click("#form-refresh")
    leader.locator(".form-answer", has_text="灭火器数量：2；现场照片：已拍照").wait_for(timeout=30_000)
    total = leader.locator(".form-progress-table tr[data-area=total]").inner_text().split("\t")
    assert total[1:3] == ["1", str(len(staff_id))]
    assert "已上报事件" in leader.locator(".form-answer").first.inner_text()
    thumb = leader.locator(".form-answer", has_text="灭火器数量：2").locator("img.form-photo-thumb")
    thumb.wait_for(timeout=30_000)
    leader.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=30_000)
    assert thumb.evaluate("img => img.naturalWidth") == 320  # the 320 px thumbnail of the 640×480 photo
    leader.locator(".form-answers").scroll_into_view_if_needed()
    screenshot(leader, "forms-leader-progress")
    with world_engine.connect() as conn:
        mine = conn.execute(select(FormAssignment.id, FormAssignment.event_ids, FormAssignment.answers).where(
            FormAssignment.form_id == fid, FormAssignment.answered_at.isnot(None))).all()
    assert len(mine) == 1 and mine[0].event_ids
    photo_id = json.loads(mine[0].answers)["q3"]
    with world_engine.connect() as conn:
        row = conn.execute(select(FormPhoto).where(FormPhoto.id == photo_id)).one()
    assert row.assignment_id == mine[0].id and row.question == "q3"
    stored = (photo_dir / row.file_name).read_bytes()
    assert stored[:2] == b"\xff\xd8" and len(_files(photo_dir)) == len(files_before) + 2  # photo, thumb
    # the leader's view of it over HTTP: full and thumbnail; another community's leader gets 404, a worker 403
    url = f"{live_server}{forms.photo_url(photo_id)}"
    own = http_session(world_engine, live_server, "community")
    full, small = own.get(url, timeout=60), own.get(url + "?thumb=1", timeout=60)
    assert full.status_code == 200 and full.content == stored and full.headers["Content-Type"] == "image/jpeg"
    assert small.status_code == 200 and small.content == (photo_dir / row.thumb_name).read_bytes()
    assert http_session(world_engine, live_server, "community_b").get(url, timeout=60).status_code == 404
    assert http_session(world_engine, live_server, "community_b").get(url + "?thumb=1", timeout=60).status_code == 404
    assert http_session(world_engine, live_server, "gridworker").get(url, timeout=60).status_code in (403, 404)
    export = own.get(f"{live_server}/api/v1/forms/{fid}/answers.csv", timeout=60).content.decode("utf-8-sig")
    assert url in export  # the export names the photo by its address
    with world_engine.connect() as conn:
        ev = conn.execute(select(Event.category_code, Event.source_key).where(
            Event.id == int(mine[0].event_ids))).one()
    assert ev == ("1102", f"{KEY_PREFIX}{mine[0].id}-q1")


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def cockpit_settings_photo_dir() -> str:
    """The photo directory of the live test server (the running app's settings)."""
    from dashboard.runtime import current

    return current().settings.photo_dir
