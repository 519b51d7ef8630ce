"""Acceptance: the demo as `make run` runs it (demo feeds live, default cache and refresh), seen in a browser.

A fresh demo world is seeded by `python app.py seed`, then `python app.py` serves it with the feed
simulator and scheduler running, exactly as on a new user's machine. Three screens (the wall at
1920×1080 and 3840×2160, a laptop at 1366×768) are watched over several refresh cycles: every panel
is drawn, nothing a person needs is clipped, a view opened by its link keeps its area, metric and
period, and an event pushed through the API is on the wall within seconds.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select, text

from governance.core.db import make_engine

from .conftest import ARTIFACTS, session_cookies
from .processes import ROOT, free_port, start, stop, wait_http

pytestmark = pytest.mark.browser
REFRESH = 15  # the default COCKPIT_REFRESH_SECONDS: this test does not shorten it
SCREENS = {"wall-1080": (1920, 1080), "wall-4k": (3840, 2160), "laptop-1366": (1366, 768)}
# Every panel: (selector, what "drawn" means in the page)
PANELS = {
    "kpis": ("#kpi-strip", "el.querySelectorAll('[data-kpi]').length >= 4"),
    "map": ("#cockpit-map", "!!el.querySelector('canvas') && Object.keys(window.gridCockpit.layers).length >= 5"),
    "warnings": ("#warnings-panel", "el.children.length >= 1"),
    "ranking": ("#ranking-panel", "el.children.length >= 5"),
    "latest": ("#event-list", "el.children.length >= 3"),
    "trends": ("#trend-row", "el.querySelectorAll('.main-svg').length >= 3"),
    "feeds": ("#feed-strip", "el.children.length >= 1"),
}
CHECK_PANELS = """() => { const out = {}; for (const [name, [sel, test]] of Object.entries(%s)) {
    const el = document.querySelector(sel); out[name] = !!el && Boolean(eval(test)); } return out; }"""
# Elements whose content must fit: their scrolled content is no larger than their box (or they scroll).
CLIPPED = """() => Array.from(document.querySelectorAll(
        '.cockpit-header, .kpi-strip, .side-panel, .side-panel ul, .trend-row, .map-legend, .feed-strip, .kpi'))
    .filter(el => el.offsetParent !== null)
    .filter(el => { const s = getComputedStyle(el);
        const hides = ['hidden', 'clip'].includes(s.overflowY) || ['hidden', 'clip'].includes(s.overflowX);
        return hides && (el.scrollHeight > el.clientHeight + 2 || el.scrollWidth > el.clientWidth + 2); })
    .map(el => (el.id || el.className) + ' ' + el.scrollWidth + 'x' + el.scrollHeight + ' in ' +
               el.clientWidth + 'x' + el.clientHeight)"""
PAGE_FITS = "() => [document.documentElement.scrollWidth <= window.innerWidth + 1, document.documentElement.scrollHeight]"
# Panels drawn over one another (a side panel's lists running out of their box over the trend charts, which
# then take their clicks): the pairs of the page's main boxes that overlap, each box taken with what spills
# out of it (its scrollHeight).
OVERLAPPING = """() => {
    const box = el => { if (!el || el.offsetParent === null) { return null; }
        const r = el.getBoundingClientRect();
        return {left: r.left, right: r.right, top: r.top, bottom: r.top + Math.max(r.height, el.scrollHeight)}; };
    const parts = {kpis: box(document.querySelector('.kpi-strip')), map: box(document.querySelector('.map-panel')),
        side: box(document.querySelector('.side-panel')), trends: box(document.querySelector('#trend-row'))};
    const names = Object.keys(parts).filter(k => parts[k] && parts[k].bottom > parts[k].top);
    const out = [];
    names.forEach((a, i) => names.slice(i + 1).forEach(b => {
        const p = parts[a], q = parts[b];
        const w = Math.min(p.right, q.right) - Math.max(p.left, q.left), h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (w > 2 && h > 2) { out.push(a + '/' + b); }
    }));
    return out;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory, test_db):
    """`python app.py` on a freshly seeded demo database, with its feed simulator; yields (url, engine)."""
    if test_db != "sqlite":
        pytest.skip("the one-command demo runs on its embedded SQLite database")
    tmp = tmp_path_factory.mktemp("demo")
    port, sim_port = free_port(), free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}", "PORT": str(port),
           "COCKPIT_SIMULATOR_PORT": str(sim_port), "COCKPIT_CACHE_DIR": str(tmp / "cache"),
           "PYTHONPATH": str(ROOT)}
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}, **env}
    seed = start([sys.executable, "app.py", "seed"], env, tmp / "seed.log")
    assert seed.wait(timeout=600) == 0, (tmp / "seed.log").read_text()
    engine = make_engine(env["DATABASE_URL"])
    with engine.begin() as conn:  # our own accounts: the demo then prints no passwords of its own
        from governance.accounts.accounts import create_device, create_user
        from governance.events.queries import world_info

        focus = world_info(conn)["focus_code"]
        create_user(conn, "acceptance", "acceptance-password-1", "subdistrict_leader", focus,
                    _now(), display_name="验收测试")
        create_device(conn, "验收大屏", focus, _now(), "test")
    proc = start([sys.executable, "app.py"], env, tmp / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/v1/health", proc, timeout=120)
        yield url, engine, focus
    finally:
        stop(proc)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "wall-live-serve.log").write_text((tmp / "serve.log").read_text(errors="replace")[-20000:])


def _now():
    from governance.core.timeutil import utcnow

    return utcnow()


def _context(browser, demo, size, who="acceptance"):
    url, engine, _focus = demo
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN",
                              timezone_id="Asia/Shanghai")
    if who == "wall":
        from governance.models import KioskDevice

        with engine.connect() as conn:
            device = conn.execute(select(KioskDevice.id).where(KioskDevice.name == "验收大屏")).scalar()
        ctx.add_cookies(session_cookies(engine, url, None, device_id=device, now=_now()))
    else:
        ctx.add_cookies(session_cookies(engine, url, who, now=_now()))
    page = ctx.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return ctx, page


def _wait_drawn(page, within: float) -> dict:
    deadline = time.monotonic() + within
    drawn = {}
    while time.monotonic() < deadline:
        drawn = page.evaluate(CHECK_PANELS % _js(PANELS))
        if all(drawn.values()):
            return drawn
        page.wait_for_timeout(250)
    return drawn


def _js(obj) -> str:
    import json

    return json.dumps(obj)


def _view(page) -> dict:
    return page.evaluate("""() => ({hash: location.hash,
        metric: (document.querySelector('#map-metric input:checked') || {}).value,
        period: (document.querySelector('#cockpit-period input:checked') || {}).value})""")


def test_three_screens_stay_drawn_unclipped_and_on_their_view(browser, demo):
    url, engine, focus = demo
    opened = {}
    view = f"#area={focus}&metric=warning&period=week"  # a playlist entry / a copied link
    for name, size in SCREENS.items():
        ctx, page = _context(browser, demo, size, who="wall" if name.startswith("wall") else "acceptance")
        # The walls open a copied link; the laptop opens the cockpit and then moves to the view in-page,
        # as a wall playlist step or the browser's back button does (only the fragment changes).
        page.goto(url + "/" + (view if name.startswith("wall") else ""))
        page.wait_for_selector("#kpi-strip [data-kpi]", timeout=60000)
        started = time.monotonic()
        if not name.startswith("wall"):
            page.wait_for_timeout(1500)
            page.evaluate(f"() => {{ window.location.hash = {_js(view)}; }}")
        opened[name] = (ctx, page, started)
    failures = []
    for name, (ctx, page, started) in opened.items():
        drawn = _wait_drawn(page, 5 - (time.monotonic() - started) + 5)  # 5 s after the first render
        if not all(drawn.values()):
            failures.append((name, "not drawn within 5 s", drawn))
    page0 = opened["wall-1080"][1]
    page0.wait_for_timeout((3 * REFRESH + 3) * 1000)  # three refresh cycles, demo feeds landing meanwhile
    for name, (ctx, page, _started) in opened.items():
        page.screenshot(path=str(ARTIFACTS / f"wall-live-{name}.png"))
        drawn = page.evaluate(CHECK_PANELS % _js(PANELS))
        if not all(drawn.values()):
            failures.append((name, "not drawn after three refreshes", drawn))
        state = _view(page)
        if (state["hash"], state["metric"], state["period"]) != (view, "warning", "week"):
            failures.append((name, "view changed", state))
        ages = page.evaluate("() => Array.from(document.querySelectorAll('.warn-age')).map(e => e.textContent)")
        if not ages or not all(a == "刚刚" or a.endswith("前") for a in ages):  # kept current in the browser
            failures.append((name, "warning ages", ages[:3]))
        clipped = page.evaluate(CLIPPED)
        if clipped:
            failures.append((name, "clipped", clipped))
        overlapping = page.evaluate(OVERLAPPING)
        if overlapping:
            failures.append((name, "panels drawn over one another", overlapping))
        fits, _height = page.evaluate(PAGE_FITS)
        if not fits:
            failures.append((name, "wider than the screen"))
        if page.errors:
            failures.append((name, "console errors", page.errors[:3]))
    for ctx, _page, _ in opened.values():
        ctx.close()
    assert failures == []


class _Pusher:
    """A push client of the demo (POST /api/v1/events) that reports gas leaks at the focus area's centre."""

    def __init__(self, demo, name: str):
        from governance.accounts.api_clients import create_client
        from governance.models import Area

        self.url, engine, focus = demo
        self.token = create_client(engine, name)
        with engine.connect() as conn:
            self.lon, self.lat = conn.execute(select(Area.centroid_lon, Area.centroid_lat)
                                              .where(Area.code == focus)).one()

    def push(self, title: str, reported_utc) -> None:
        """Push one event reported at `reported_utc` (naive UTC), sent as Asia/Shanghai time."""
        resp = requests.post(self.url + "/api/v1/events", headers={"Authorization": f"Bearer {self.token}"}, json={
            "source_key": title, "category": "燃气隐患", "lon": self.lon, "lat": self.lat, "title": title,
            "address": title, "reported_at": (reported_utc + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")},
            timeout=30)
        assert resp.status_code == 202 and resp.json()["inserted"] == 1, resp.text


def test_a_pushed_event_is_on_the_wall_within_seconds(browser, demo):
    url = demo[0]
    pusher = _Pusher(demo, "验收推送")
    ctx, page = _context(browser, demo, SCREENS["wall-1080"], who="wall")
    page.goto(url + "/")
    page.wait_for_selector("#event-list li", timeout=60000)
    page.wait_for_timeout(3000)
    latencies = []
    for i in range(4):
        page.wait_for_timeout(1000 + 3700 * i)  # different points of the refresh cycle
        title = f"验收推送事件{i}-{int(time.time())}"
        sent = time.monotonic()
        pusher.push(title, _now().replace(tzinfo=None))
        page.wait_for_function(f"() => document.querySelector('#event-list').innerText.includes({_js(title)})",
                               timeout=REFRESH * 2 * 1000)
        latencies.append(time.monotonic() - sent)
    ctx.close()
    print("event-to-wall latencies (s):", [round(x, 2) for x in latencies])
    # Pushed, each arrives in about a second (bench.render measures p95 over 20 on an idle machine); by the
    # refresh interval alone one would take up to 15 s plus the cache's 5 s, so four under 6 s means push.
    assert max(latencies) <= 6, latencies


def test_a_pushed_event_turns_the_paged_latest_list_back_to_its_first_page(browser, demo):
    # At 1080p 最新事件 pages through its rows every 8 s; a new event tops the list, so the list must show
    # its first page at once, not when the pager comes round (seen: up to 20 s on the wall).
    url, engine, _focus = demo
    pusher = _Pusher(demo, "验收推送（翻页）")
    ctx, page = _context(browser, demo, SCREENS["wall-1080"], who="wall")
    try:
        page.goto(url + "/")
        page.wait_for_selector("#event-list li", timeout=60000)
        later_page = ("() => { const h = document.querySelector('#event-list').previousElementSibling;"
                      " const n = h && h.querySelector('.page-note'); return n && !n.textContent.startsWith('第 1/'); }")
        page.wait_for_function(later_page, timeout=30000)  # the list is on a later page
        title = f"验收翻页事件-{int(time.time())}"
        with engine.connect() as conn:  # reported after every event so far: it tops 最新事件
            newest = conn.execute(text("SELECT max(reported_at) FROM event")).scalar()
        newest = datetime.fromisoformat(newest) if isinstance(newest, str) else newest
        pusher.push(title, max(newest.replace(tzinfo=None), _now().replace(tzinfo=None)) + timedelta(minutes=1))
        # shown on the first page (the pager lays the list out again within a second of the new rows)
        page.wait_for_function(f"() => {{ const l = document.querySelector('#event-list');"
                               f" const n = l.previousElementSibling.querySelector('.page-note');"
                               f" return l.innerText.includes({_js(title)}) && n && n.textContent.startsWith('第 1/'); }}",
                               timeout=4000)
    finally:
        ctx.close()
