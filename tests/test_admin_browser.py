"""The admin console in headless Chromium: disable a person (their open page is refused at its next request),
rotate a running wall (it keeps running, the old link is refused), edit its playlist and a warning threshold
(the wall and /rules change without a restart; an invalid value gets the start-up check's message)."""
from __future__ import annotations

import json

import yaml
from sqlalchemy import select

from governance.accounts.accounts import create_device, create_user
from governance.models import UserAccount
from governance.console.rule_settings import apply, file_doc
from governance.core.setting_paths import set_path
from governance.alerts.warnings import RulesError, load_rules
from governance.core.workflow import SEVERITIES

from .conftest import TEST_PASSWORD, WORLD_NOW, screenshot

EVENT_ROWS = "[...document.querySelectorAll('#warnings-panel .warn-row')].filter(r => r.querySelector('button.warn-title'))"
ALL_RED = (f"(() => {{ const rows = {EVENT_ROWS}; return rows.length > 0 && rows.every(r => r.classList.contains('lv-red')"
           " && (r.querySelector('.warn-reason')?.title || '').includes('立即红色预警')); })()")


def _pick(page, dropdown: str, text: str) -> None:
    """Choose an option of a dcc.Dropdown by typing its label."""
    for attempt in range(3):
        page.click(f"#{dropdown}")
        search = page.locator(".dash-dropdown-search:visible")
        if search.count():
            search.first.fill(text)  # replaces what was typed the last time
        else:
            page.keyboard.type(text)
        option = page.locator(".dash-dropdown-option:visible", has_text=text).first
        try:
            option.click(timeout=10000)
            return
        except Exception:  # the list closed or re-rendered under the pointer: open it again
            page.keyboard.press("Escape")
    raise AssertionError(f"no option {text!r} in #{dropdown}")


def _row_button(page, row_text: str, button: str):
    return page.locator("tr", has_text=row_text).locator("button", has_text=button)


def test_admin_console_in_a_browser(world_engine, live_server, browser, page_factory, tmp_path):
    a = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "browser_victim")).first() is None:
            create_user(conn, "browser_victim", TEST_PASSWORD, "community_staff", a, WORLD_NOW)
        token = create_device(conn, "浏览器测试大屏", a, WORLD_NOW, "test", [{"view": f"#area={a}", "seconds": 10}])

    # 1. An admin disables a person: the page they have open is refused at its next request.
    victim = page_factory(1366, 768, user="browser_victim")
    victim.goto(live_server + "/rules")
    victim.wait_for_selector("h1")
    admin = page_factory(1600, 1000, user="admin")
    admin.goto(live_server + "/admin/people")
    _row_button(admin, "browser_victim", "停用").click()
    admin.wait_for_selector(".admin-msg:has-text('已停用')")
    assert admin.locator("tr", has_text="browser_victim").locator(".state-off").count() == 1
    screenshot(admin, "admin-people")
    victim.reload()
    victim.wait_for_url("**/login**")

    # 2. A running wall; the admin rotates its link: the wall keeps running, the old link is refused.
    wall_ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", bypass_csp=True)
    try:
        wall = wall_ctx.new_page()
        wall.goto(f"{live_server}/kiosk/{token}")
        wall.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        admin.goto(live_server + "/admin/devices")
        _row_button(admin, "浏览器测试大屏", "换发链接").click()
        new_link = admin.locator(".secret-value").inner_text(timeout=15000)
        assert "/kiosk/" in new_link and token not in new_link
        wall.reload()
        wall.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        other = browser.new_context()
        probe = other.new_page()
        probe.goto(f"{live_server}/kiosk/{token}")
        assert "无效或已停用" in probe.inner_text("body")
        probe.goto(new_link)
        probe.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        other.close()

        # 3. The playlist editor: a bad playlist is refused, a good one reaches the running wall.
        _pick(admin, "adm-dev-pick", "浏览器测试大屏")
        admin.wait_for_function("document.querySelector('#adm-playlist').value.includes('seconds')")
        admin.fill("#adm-playlist", json.dumps([{"view": f"#area={a}", "seconds": 5}]))
        admin.click("#adm-playlist-save")
        admin.wait_for_selector(".admin-msg:has-text('seconds ≥ 10')")
        view = f"#area={a}&metric=open"
        admin.fill("#adm-playlist", json.dumps([{"view": view, "seconds": 30}]))
        admin.wait_for_selector(".playlist-steps li")
        admin.click("#adm-playlist-save")
        admin.wait_for_selector(".admin-msg:has-text('轮播已保存')")
        screenshot(admin, "admin-devices")
        wall.wait_for_function("location.hash.includes('metric=open')", timeout=30000)

        # 4. A warning threshold: an invalid value gets the start-up check's message; a valid one recolours the wall.
        doc = file_doc()
        set_path(doc, "grid.spike.red_p", 0.5)
        bad = tmp_path / "rules.yaml"
        bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            load_rules(bad)
            raise AssertionError("the start-up check accepted red_p 0.5")
        except RulesError as exc:
            startup_message = str(exc)
        admin.goto(live_server + "/admin/settings")
        _pick(admin, "adm-set-path", "grid.spike.red_p")
        admin.wait_for_function("document.querySelector('#adm-set-value').value !== ''")
        admin.fill("#adm-set-value", "0.5")
        admin.click("#adm-set-save")
        assert admin.locator(".rules-error").inner_text(timeout=15000) == startup_message

        wall.wait_for_selector("#warnings-panel .warn-row button.warn-title", timeout=30000)
        assert not wall.evaluate(ALL_RED)  # before: not every warned event is red for being "紧急"
        try:
            _pick(admin, "adm-set-path", "event.red_at_severity")
            admin.wait_for_function("document.querySelector('#adm-set-value').value === '4'")
            admin.fill("#adm-set-value", "1")
            admin.click("#adm-set-check")
            admin.wait_for_selector("#adm-set-diff:has-text('red_at_severity: 1')")
            admin.click("#adm-set-save")
            admin.wait_for_selector(".admin-msg:has-text('已保存并生效')")
            screenshot(admin, "admin-settings")
            wall.wait_for_function(ALL_RED, timeout=30000)
            screenshot(wall, "admin-wall-after-threshold")
            admin.goto(live_server + "/rules")
            admin.wait_for_selector(f"text=等级“{SEVERITIES[1]}”的事件在办期间一律红色")
            admin.goto(live_server + "/audit")
            admin.click("text=管理变更")
            admin.wait_for_selector(".audit-changes td:has-text('修改预警设置')")
            screenshot(admin, "admin-audit")
        finally:
            with world_engine.begin() as conn:
                apply(conn, "event.red_at_severity", None, "test", WORLD_NOW)
        wall.wait_for_function(f"!{ALL_RED}", timeout=30000)  # back to the file's value, still without a restart
    finally:
        wall_ctx.close()
