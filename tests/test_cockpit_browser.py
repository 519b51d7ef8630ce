"""The wall view in real headless Chromium: polygons drawn = database, KPIs = SQL, localhost only."""
import json
from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from governance.figures.kpis import period_bounds

from .conftest import WORLD_NOW, screenshot
from .test_kpis import FOCUS, independent_kpis

pytestmark = pytest.mark.browser

DRAWN = "Object.fromEntries(Object.entries(window.gridCockpit.drawn).map(([k, v]) => [k, [...v]]))"


def _load(page, url):
    page.goto(url)
    page.wait_for_function("window.gridCockpit && window.gridCockpit.drawn.community"
                           " && window.gridCockpit.drawn.subdistrict", timeout=30000)
    page.wait_for_timeout(500)
    return page.evaluate(DRAWN)


def test_wall_view_draws_every_grid_and_true_kpis(world_engine, live_server, page_factory):
    page = page_factory(1920, 1080)
    drawn = _load(page, live_server + "/")
    with world_engine.connect() as conn:
        comms = {r[0] for r in conn.execute(text(
            "SELECT code FROM area WHERE level='community' AND path LIKE :p"), {"p": FOCUS + "%"})}
        start, _ = period_bounds("year", WORLD_NOW)
        want = independent_kpis(conn, FOCUS, start, WORLD_NOW)
    assert set(drawn["community"]) == comms  # the sub-district view shows its communities
    assert drawn["subdistrict"] == [FOCUS.strip("/").split("/")[-1]]  # and its own outline

    shown = {k: page.inner_text(f"[data-kpi={k}]") for k in
             ("closure_rate", "on_time_rate", "satisfaction_rate", "new_today", "open_count", "overdue")}
    for key in ("closure_rate", "on_time_rate", "satisfaction_rate"):
        assert shown[key] == f"{want[key]:.1f}%", key
    for key in ("new_today", "open_count", "overdue"):
        assert shown[key] == f"{want[key]:,}", key

    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
    assert "数据更新于" in page.inner_text("#cockpit-clock")
    shot = screenshot(page, "wall-1080p")
    assert shot.stat().st_size > 50_000


def test_wall_view_at_4k_has_no_scrollbars(live_server, page_factory):
    page = page_factory(3840, 2160)
    _load(page, live_server + "/")
    overflow = page.evaluate("[document.documentElement.scrollWidth > innerWidth,"
                             " document.documentElement.scrollHeight > innerHeight]")
    assert overflow == [False, False]
    screenshot(page, "wall-4k")


def test_on_a_laptop_the_page_scrolls_and_the_map_stays_beside_the_lists(live_server, page_factory):
    """At 1366×768 the side panel's lists show in full and the page scrolls (the wheel over the map or the lists
    moves the page, not the map's zoom); scrolled down to the latest events, the map is still in view beside
    them, not left above an empty column."""
    page = page_factory(1366, 768)
    _load(page, live_server + "/")
    page.wait_for_selector("#event-list li", timeout=30000)
    zoom = page.evaluate("window.gridCockpit.leafletMap().getZoom()")
    side = page.locator(".side-panel").bounding_box()
    page.mouse.move(side["x"] + side["width"] / 2, side["y"] + 40)
    page.mouse.wheel(0, 400)
    page.wait_for_function("document.body.scrollTop + document.documentElement.scrollTop >= 300", timeout=5000)
    box = page.locator(".map-panel").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, max(box["y"], 0) + 200)
    page.mouse.wheel(0, 300)
    page.wait_for_function("document.body.scrollTop + document.documentElement.scrollTop >= 600", timeout=5000)
    page.locator("#event-list li").last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    assert page.evaluate("window.gridCockpit.leafletMap().getZoom()") == zoom
    in_view = page.evaluate("""() => { const m = document.querySelector('.map-panel').getBoundingClientRect();
        const last = [...document.querySelectorAll('#event-list li')].pop().getBoundingClientRect();
        return {map: [m.top, m.bottom], last: [last.top, last.bottom], h: innerHeight}; }""")
    assert 0 <= in_view["last"][0] and in_view["last"][1] <= in_view["h"] + 1, in_view
    assert in_view["map"][0] >= 0 and in_view["map"][1] <= in_view["h"], in_view  # the map beside the rows
    screenshot(page, "laptop-scrolled-to-latest-events")


def test_period_switch_recomputes_kpis(world_engine, live_server, page_factory):
    page = page_factory(1920, 1080)
    _load(page, live_server + "/")
    before = page.inner_text("[data-kpi=closure_rate]")
    page.click("text=本月")
    start, _ = period_bounds("month", WORLD_NOW)
    with world_engine.connect() as conn:
        want = independent_kpis(conn, FOCUS, start, WORLD_NOW)
    expected = f"{want['closure_rate']:.1f}%"
    page.wait_for_function(f"document.querySelector('[data-kpi=closure_rate]').innerText === '{expected}'",
                           timeout=30000)
    assert expected != before


def test_quarantine_is_visible_and_citizen_text_stays_text(world_engine, live_server, page_factory):
    from data_sources.base import RawRecord
    from data_sources.pipeline import quarantine

    hostile = '{"content": "<img src=x onerror=\\"window.__xss=1\\"><script>window.__xss=2</script>"}'
    quarantine(world_engine, "cases", [(RawRecord(None, hostile, "Q-XSS-1"), "坐标超出范围：经度 999")],
               WORLD_NOW)
    page = page_factory(1366, 768, user="admin")
    page.goto(live_server + "/quarantine")
    page.wait_for_selector("text=Q-XSS-1")
    row = page.locator("tr.quarantine-row", has_text="Q-XSS-1")
    assert "坐标超出范围" in row.inner_text()
    assert "<script>window.__xss=2</script>" in row.locator("pre").inner_text()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    screenshot(page, "quarantine-laptop")
    page.goto(live_server + "/")
    page.wait_for_selector("[data-feed=cases]")
    assert page.locator("[data-feed=cases] .feed-quarantine").inner_text().startswith("待查")


def test_why_is_this_red_and_the_rules_page(live_server, page_factory):
    page = page_factory(1920, 1080)
    _load(page, live_server + "/")
    first = page.locator("#warnings-panel button.warn-title").first
    first.click()
    page.wait_for_selector("#event-detail:not(.hidden) .detail-reason")
    reasons = page.locator("#event-detail .detail-reason").all_inner_texts()
    assert reasons and any(("超期" in r) or ("紧急" in r) or ("未签收" in r) for r in reasons)
    assert page.locator("#event-detail .warn-badge").inner_text() in ("红色预警", "橙色预警")
    screenshot(page, "wall-event-detail")
    page.goto(live_server + "/rules")
    page.wait_for_selector("text=分级预控")
    text = page.inner_text(".rules-page")
    assert "派单后" in text and "泊松检验" in text and "红色预警" in text
    screenshot(page, "rules-page")


def test_cockpit_works_under_its_own_csp(live_server, page_factory):
    page = page_factory(1920, 1080, enforce_csp=True)
    page.goto(live_server + "/")
    page.wait_for_selector("[data-kpi=closure_rate]")
    page.wait_for_selector(".leaflet-overlay-pane canvas", state="attached")
    page.wait_for_selector("#trend-daily .main-svg", state="attached")
    page.wait_for_timeout(1500)
    violations = [e for e in page.console_errors if "Content Security Policy" in e or "unsafe-eval" in e]
    assert violations == []


def test_the_first_render_uses_what_the_page_started(live_server, page_factory):
    """The cockpit's HTML starts its layout, callbacks, geometry and map chunks while the scripts load; the
    first render then uses each of them (no second request, no unused-preload warning), and without Dash's
    polyfill the lazily loaded components (choropleth, charts) still load (assets/regenerator.js)."""
    page = page_factory(1920, 1080)
    warnings, renders = [], []
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    page.on("request", lambda r: renders.append(json.loads(r.post_data)["changedPropIds"])
            if "_dash-update-component" in r.url and "cockpit-clock" in (r.post_data or "") else None)
    page.goto(live_server + "/")
    page.wait_for_selector("#trend-daily .main-svg", state="attached", timeout=30000)
    page.wait_for_selector("#event-list li", timeout=30000)  # the lists the layout left to the first render call
    # that call is asked for once the polygons are drawn, not by the location mounting (cockpit_first.js)
    assert renders and renders[0] == ["first-drawn.data"], renders
    page.wait_for_timeout(3500)  # Chromium warns of a preload left unused a few seconds after the load event
    entries = page.evaluate("performance.getEntriesByType('resource').map(e => [e.name.replace(location.origin, ''),"
                            " e.initiatorType])")
    started = {name: kind for name, kind in entries if kind == "link"}
    assert started.keys() >= {"/_dash-layout?page=%2F&hash=", "/_dash-dependencies"}, started
    layouts = [name for name, _ in entries if "/_dash-layout" in name]
    assert layouts == ["/_dash-layout?page=%2F&hash="], layouts  # the preload served Dash's own request
    assert not [u for u in page.requests if "polyfill" in u]
    chunks = [name for name, kind in entries if "/dash_leaflet/async-" in name]
    assert chunks and all(dict(entries)[c] == "script" for c in chunks), entries
    assert page.evaluate("typeof regeneratorRuntime.wrap") == "function"
    assert [w for w in warnings if "preload" in w] == []
    assert page.console_errors == []


# Records, from Dash's store, when each of these props is first set, and whether a lazily loaded map layer ever
# showed its "Loading..." fallback (dash-leaflet's Suspense) inside the map.
FIRST_ORDER = """
(() => {
  const seen = window.__firstOrder = {suspended: false};
  const prop = (s, id, name) => {
    const path = s.paths && s.paths.strs && s.paths.strs[id];
    if (!path) { return undefined; }
    let o = s.layout;
    for (const k of path) { o = o && o[k]; }
    return o && o.props ? o.props[name] : undefined;
  };
  const look = () => {
    const s = window.store.getState(), now = performance.now();
    [["first-drawn", "data"], ["cockpit-map", "zoom"], ["live-state", "data"]].forEach(([id, name]) => {
      const key = id + "." + name;
      if (seen[key] === undefined && prop(s, id, name) != null) { seen[key] = now; }
    });
  };
  const hook = () => { if (window.store && window.store.subscribe) { window.store.subscribe(look); }
                       else { setTimeout(hook, 2); } };
  hook();
  new MutationObserver(() => {
    document.querySelectorAll(".leaflet-container div").forEach(d => {
      if (d.textContent === "Loading...") { seen.suspended = true; } });
  }).observe(document, {childList: true, subtree: true});
})();
"""


def _zoom_is_reported(page, step: int) -> None:
    """Zoom the cockpit map by `step` and wait until its component's zoom prop (in Dash's store) follows."""
    zoom = page.evaluate("window.gridCockpit.leafletMap().getZoom()")
    page.evaluate(f"window.gridCockpit.leafletMap().setZoom({zoom + step}, {{animate: false}}); null")
    page.wait_for_function(f"(() => {{const s = window.store.getState(); let o = s.layout;"
                           f" for (const k of s.paths.strs['cockpit-map']) {{ o = o[k]; }}"
                           f" return o.props.zoom === {zoom + step};}})()", timeout=10000)


def test_nothing_runs_between_the_layout_and_the_polygons(live_server, page_factory):
    """Between the layout's arrival and the choropleth, Dash runs no callback and the map layer does not
    suspend: the GeoJSON layer's lazy code is settled before the layout arrives (cockpit_first.js), the map
    reports its view only once the choropleth is drawn, the change stream opens then, and Dash pages' title
    callback is not called on load (the HTML has the title)."""
    page = page_factory(1920, 1080)
    page.add_init_script(FIRST_ORDER)
    order = []
    page.on("request", lambda r: order.append("stream" if "/api/v1/changes" in r.url else
                                              "render" if "cockpit-clock" in (r.post_data or "") else "other"))
    page.goto(live_server + "/")
    page.wait_for_selector("#event-list li", timeout=30000)
    page.wait_for_function("window.__firstOrder['cockpit-map.zoom'] !== undefined", timeout=10000)
    seen = page.evaluate("window.__firstOrder")
    assert seen["suspended"] is False, seen
    # the map's view is reported after first-drawn (dash-leaflet's own tracking reported it as the map mounted)
    assert seen["cockpit-map.zoom"] >= seen["first-drawn.data"], seen
    # the change stream is asked for with the first render, not as the layout loads
    assert "stream" in order and order.index("stream") > order.index("render"), order
    assert page.evaluate("document.title") == "网格驾驶舱"
    # the reported view is the map's own, and a move reports it again (the fine tiles follow it)
    _zoom_is_reported(page, +1)
    # a later navigation sets the title; the cockpit the page router builds on the way back reports its map's
    # view too, and has the change stream open
    page.click(".page-links a[href='/events']")
    page.wait_for_function("document.title === '事件台账 · 网格驾驶舱'", timeout=20000)
    # as the stream does on its next message once the cockpit is left
    page.evaluate("(() => { const c = gridCockpitLive.controller; gridCockpitLive.url = null;"
                  " gridCockpitLive.controller = null; if (c) { c.abort(); } })()")
    streams = order.count("stream")
    page.go_back()
    page.wait_for_function("document.title === '网格驾驶舱' && document.querySelector('#event-list li')",
                           timeout=20000)
    page.wait_for_function("(() => {const m = window.gridCockpit.leafletMap(); return m && m.gridCockpitTracked;})()",
                           timeout=10000)
    _zoom_is_reported(page, -1)
    page.wait_for_function("gridCockpitLive.controller !== null", timeout=10000)
    assert order.count("stream") > streams, order
    assert page.console_errors == []


def test_security_headers_and_no_framing(live_server):
    import requests

    resp = requests.get(live_server + "/")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-eval'" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert requests.get(live_server + "/api/v1/health").headers["Referrer-Policy"]
