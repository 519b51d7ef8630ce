"""关爱走访 on the worker's phone (375×812) cannot be backdated (#19): a visit whose time lies further back than the
offline allowance is refused on the card in Chinese, and what was typed (time, note, needs) comes back with
记录走访 enabled again; a visit recorded while offline and synced after its due time — within the allowance —
is stored with its claimed time and the receipt time and counts as on time."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from governance.accounts.accounts import create_user
from governance.core.timeutil import to_local
from governance.models import UserAccount, VisitTask

from .conftest import TEST_PASSWORD, WORLD_NOW, screenshot, session_cookies
from .test_visit_recording import _grid_and_worker, _new_task, _on_time, _state

pytestmark = pytest.mark.browser
M = timedelta(minutes=1)


def _by_id(page, kind: str, visit: int):
    """The element of a visit card's pattern id (Dash writes it as compact JSON with sorted keys)."""
    return page.locator(f"[id='{json.dumps({'type': kind, 'visit': visit}, separators=(',', ':'))}']")


def _local(when) -> str:
    return to_local(when).strftime("%Y-%m-%dT%H:%M")


def test_a_backdated_visit_is_refused_on_the_phone_and_an_offline_one_counts(world_engine, live_server, browser,
                                                                            monkeypatch):
    from dashboard.runtime import current

    rt = current()
    monkeypatch.setattr(rt, "clock", lambda: WORLD_NOW)
    with world_engine.begin() as conn:
        path, staff, code = _grid_and_worker(conn)
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "recordworker")).first() is None:
            create_user(conn, "recordworker", TEST_PASSWORD, "grid_worker", code, WORLD_NOW,
                        display_name="补录测试网格员", staff_id=staff)
        late = _new_task(conn, path, staff, WORLD_NOW - 2 * timedelta(days=1))
        soon = _new_task(conn, path, staff, WORLD_NOW + 30 * M)
    ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        ctx.add_cookies(session_cookies(world_engine, live_server, "recordworker", now=WORLD_NOW))
        phone = ctx.new_page()
        phone.goto(live_server + "/worker/mine")
        card = phone.locator(f"section.visit-task:has(button[data-visit='{late}'])")
        card.wait_for(timeout=30_000)
        # --- two days late, the worker claims a time 30 hours back: refused, nothing lost -------------------------
        claimed = _local(WORLD_NOW - 30 * timedelta(hours=1))
        card.locator("input.v-when, .v-when input").first.fill(claimed)
        card.locator("textarea.v-note").fill("老人身体尚可")
        card.locator("textarea.v-needs").fill("需要助餐")
        card.locator("button.w-visit").click()
        _by_id(phone, "v-msg", late).filter(has_text="超过离线补录时限（24 小时）").wait_for(timeout=30_000)
        assert card.locator("textarea.v-note").input_value() == "老人身体尚可"
        assert card.locator("textarea.v-needs").input_value() == "需要助餐"
        assert card.locator("input.v-when, .v-when input").first.input_value() == claimed
        assert card.locator("button.w-visit").is_enabled()
        card.scroll_into_view_if_needed()
        screenshot(phone, "visit-phone-backdated-refused")
        with world_engine.connect() as conn:
            assert _state(conn, late) == (None, None)
        # corrected to the time it is recorded: stored, and late
        card.locator("input.v-when, .v-when input").first.fill(_local(WORLD_NOW))
        card.locator("button.w-visit").click()
        _by_id(phone, "v-task", late).filter(has_text="走访已记录").wait_for(timeout=30_000)
        with world_engine.connect() as conn:
            assert _state(conn, late) == (WORLD_NOW.replace(second=0, microsecond=0), WORLD_NOW)
            assert _on_time(conn, late) == 0

        # --- offline: visited before the due time, synced an hour after it ---------------------------------------
        card = phone.locator(f"section.visit-task:has(button[data-visit='{soon}'])")
        ctx.set_offline(True)
        card.locator("input.v-when, .v-when input").first.fill(_local(WORLD_NOW))
        card.locator("textarea.v-note").fill("离线记录：老人在家")
        card.locator("button.w-visit").click()
        _by_id(phone, "v-msg", soon).filter(has_text="已保存在手机上").wait_for(timeout=30_000)
        synced = WORLD_NOW + 90 * M
        monkeypatch.setattr(rt, "clock", lambda: synced)
        ctx.set_offline(False)
        _by_id(phone, "v-task", soon).filter(has_text="走访已记录").wait_for(timeout=30_000)
        with world_engine.connect() as conn:
            assert _state(conn, soon) == (WORLD_NOW.replace(second=0, microsecond=0), synced)
            assert _on_time(conn, soon) == 1  # claimed before the due time, received within 24 h of it
    finally:
        ctx.close()
        with world_engine.begin() as conn:
            conn.execute(delete(VisitTask).where(VisitTask.id.in_([late, soon])))
