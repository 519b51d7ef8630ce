"""The three audiences in a real browser: portal iframe (cross-site, third-party cookies blocked), wall kiosk, sign-in."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from governance.accounts.accounts import create_device, revoke_device, rotate_device
from governance.core.embed_tokens import mint_embed_token

from .conftest import TEST_PASSWORD, TEST_SECRET, WORLD_NOW, screenshot


class _Portal(BaseHTTPRequestHandler):
    """A government portal on another site that frames the cockpit."""

    iframe_src = ""

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = (f'<!doctype html><html><body style="margin:0;background:#fff"><h1>成都市政务门户</h1>'
                f'<iframe id="cockpit" src="{self.server.iframe_src}" width="1200" height="760" '
                f'style="border:0"></iframe></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def portal(portal_port):
    """The configured portal origin (http://localhost:PORT — a different site from 127.0.0.1)."""
    server = ThreadingHTTPServer(("127.0.0.1", portal_port), _Portal)
    server.iframe_src = ""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def strict_browser(browser):
    """Chromium that blocks third-party cookies, as browsers increasingly do by default."""
    b = browser.browser_type.launch(executable_path="/usr/bin/chromium", args=[
        "--no-sandbox", "--disable-gpu", "--test-third-party-cookie-phaseout",
        "--disable-background-networking", "--no-first-run"])
    yield b
    b.close()


def _first_render_answered(responses) -> bool:
    """True once the embedded cockpit's updates include a 200 and the 204 of a panel the token leaves out."""
    statuses = [r.status for r in responses if "/_dash-update-component" in r.url]
    return len(statuses) >= 2 and 200 in statuses and 204 in statuses


def _frame_page(strict_browser, portal, portal_port, src):
    portal.iframe_src = src
    ctx = strict_browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.responses = []
    page.on("response", lambda r: page.responses.append(r))
    page.goto(f"http://localhost:{portal_port}/")
    return ctx, page


def test_portal_iframe_works_cross_site_without_cookies(world_engine, live_server, portal, portal_port,
                                                        strict_browser):
    area = world_engine.accounts["communities"][0]
    token = mint_embed_token(TEST_SECRET, area, WORLD_NOW, ["kpis", "map", "warnings"], timedelta(minutes=10), "门户")
    ctx, page = _frame_page(strict_browser, portal, portal_port, f"{live_server}/embed?token={token}")
    try:
        frame = page.frame_locator("#cockpit")
        frame.locator("[data-kpi=closure_rate]").wait_for(timeout=30000)
        frame.locator(".grid-map canvas").first.wait_for(timeout=30000)
        with world_engine.connect() as conn:
            name = conn.execute(text("SELECT name FROM area WHERE code=:c"), {"c": area}).scalar()
        assert name in frame.locator("#area-title").inner_text()
        assert frame.locator(".trend-row").is_hidden()  # not granted: hidden and sent empty
        assert frame.locator(".page-links a").count() == 0
        # Until the first render's callbacks have answered with the header token, the last of them the trends
        # kick (400 ms after load; its panel is not granted: 204). The change stream is open here, so the
        # refresh timer rests (tests/test_live_timer_browser.py): there is no 2-s tick to wait for.
        deadline = time.monotonic() + 15
        while not _first_render_answered(page.responses) and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # polling interval (lets Playwright deliver its response events)
        cockpit = [r for r in page.responses if r.url.startswith(live_server)]
        updates = [r for r in cockpit if "/_dash-update-component" in r.url]
        # 204: a callback of a panel the token leaves out (trends) answers with nothing, and no error
        assert len(updates) >= 2 and all(r.status in (200, 204) for r in updates)
        assert any(r.status == 200 for r in updates)
        assert not any("set-cookie" in r.headers for r in cockpit)  # nothing relies on cookies
        # the token travels in its header only: no other request names it in its URL (access logs keep URLs)
        layout = [r.url for r in cockpit if "/_dash-layout" in r.url]
        assert layout and "page=%2Fembed" in layout[0]  # the page was laid out from the layout request
        assert not [r.url for r in cockpit if token in r.url and not r.url.startswith(f"{live_server}/embed?")]
        assert frame.locator("body").evaluate("() => document.cookie") == ""
        screenshot(page, "embed-in-portal")
    finally:
        ctx.close()


@pytest.mark.parametrize("case", ["forged", "expired", "out_of_scope_api"])
def test_bad_embed_tokens_are_refused(case, world_engine, live_server, portal, portal_port, strict_browser):
    import requests

    area = world_engine.accounts["communities"][0]
    good = mint_embed_token(TEST_SECRET, area, WORLD_NOW, ttl=timedelta(minutes=10))
    if case == "out_of_scope_api":  # a valid token for community A cannot fetch community B
        other = world_engine.accounts["communities"][1]
        resp = requests.get(f"{live_server}/api/v1/geo/{other}/general_grid.pbf", headers={"X-Embed-Token": good})
        assert resp.status_code == 404
        assert requests.get(f"{live_server}/api/v1/geo/{area}/general_grid.pbf",
                            headers={"X-Embed-Token": good}).status_code == 200
        return
    token = {"forged": good[:-4] + "AAAA",
             "expired": mint_embed_token(TEST_SECRET, area, WORLD_NOW - timedelta(minutes=11),
                                         ttl=timedelta(minutes=10))}[case]
    ctx, page = _frame_page(strict_browser, portal, portal_port, f"{live_server}/embed?token={token}")
    try:
        frame = page.frame_locator("#cockpit")
        frame.locator(".auth-error").wait_for(timeout=15000)
        assert ("签名无效" if case == "forged" else "已过期") in frame.locator(".auth-error").inner_text()
        assert frame.locator("[data-kpi]").count() == 0
    finally:
        ctx.close()


def test_other_pages_refuse_to_be_framed(live_server, portal, portal_port, strict_browser):
    ctx, page = _frame_page(strict_browser, portal, portal_port, f"{live_server}/login")
    try:
        page.wait_for_timeout(1500)
        framed = page.frames[1] if len(page.frames) > 1 else None
        # Blocked by frame-ancestors 'none': the frame never gets the login form.
        assert framed is None or framed.query_selector("form.auth-form") is None
    finally:
        ctx.close()


def test_kiosk_token_opens_the_wall_and_a_revoked_one_does_not(world_engine, live_server, browser):
    focus = world_engine.accounts["focus"]
    comm = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        token = create_device(conn, "测试大屏", focus, WORLD_NOW, "test",
                              [{"view": f"#area={focus}&metric=warning", "seconds": 10},
                               {"view": f"#area={comm}&metric=open", "seconds": 10}])
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", bypass_csp=True)
    try:
        page = ctx.new_page()
        page.goto(f"{live_server}/kiosk/{token}")
        page.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        assert page.url.startswith(live_server + "/") and "#area=" in page.url  # no sign-in screen on the way
        assert page.locator(".page-links a").count() == 0 and page.locator(".logout-form").count() == 0
        screenshot(page, "kiosk-wall")
        # The playlist moves the wall to the next view by itself.
        page.wait_for_function(f"document.querySelector('#area-title')?.innerText.length > 0 && "
                               f"location.hash.includes('{comm}')", timeout=25000)
        # Renewing the device's link does not disturb the running wall.
        with world_engine.begin() as conn:
            rotate_device(conn, "测试大屏", WORLD_NOW, "test")
        page.reload()
        page.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        # The old link no longer opens a new wall …
        other = browser.new_context()
        p2 = other.new_page()
        p2.goto(f"{live_server}/kiosk/{token}")
        assert "无效或已停用" in p2.inner_text("body")
        other.close()
        # … and revoking the device stops the running wall at its next refresh.
        with world_engine.begin() as conn:
            revoke_device(conn, "测试大屏", WORLD_NOW, "test")
        page.wait_for_selector(".auth-error", timeout=20000)
        assert "已停用" in page.inner_text(".auth-error")
    finally:
        ctx.close()


def test_sign_in_page_and_role_aware_header(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", bypass_csp=True)
    try:
        page = ctx.new_page()
        page.goto(live_server + "/events")
        assert "/login" in page.url
        screenshot(page, "login")
        page.fill("input[name=username]", "community")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#events-table td", timeout=30000)
        assert "/events?area=" in page.url  # back where sign-in was asked for, in the own community
        page.goto(live_server + "/")
        page.wait_for_selector("[data-kpi=closure_rate]", timeout=30000)
        links = page.locator(".page-links a").all_inner_texts()
        assert "事件台账" in links and "网格赶考" not in links  # community staff hold no drills
        assert "测试community" in page.inner_text(".logout-form")
        page.click(".logout-form button")
        page.wait_for_selector("form.auth-form", timeout=15000)
    finally:
        ctx.close()
