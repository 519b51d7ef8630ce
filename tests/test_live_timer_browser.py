"""While the change stream is open the wall's refresh timer rests (changes come pushed); without the
stream it ticks at COCKPIT_REFRESH_SECONDS (2 s in the test app), and it is back when the stream drops."""
import pytest

pytestmark = pytest.mark.browser


def _timer_renders(page, seconds: float) -> int:
    """How many cockpit render calls the page makes in `seconds` (nothing in the world changes meanwhile)."""
    seen = []

    def count(req):
        if "_dash-update-component" in req.url and "cockpit-clock" in (req.post_data or ""):
            seen.append(req.url)

    page.on("request", count)
    page.wait_for_timeout(seconds * 1000)
    page.remove_listener("request", count)
    return len(seen)


def test_the_refresh_timer_rests_while_changes_are_pushed_and_ticks_without_them(live_server, page_factory):
    pushed = page_factory(1920, 1080)
    pushed.goto(live_server + "/")
    pushed.wait_for_selector("#event-list li")
    pushed.wait_for_function("gridCockpitLive.version !== null", timeout=10_000)
    pushed.wait_for_timeout(1000)
    resting = _timer_renders(pushed, 7)

    cut = page_factory(1920, 1080)
    cut.route("**/api/v1/changes*", lambda route: route.abort())
    cut.goto(live_server + "/")
    cut.wait_for_selector("#event-list li")
    ticking = _timer_renders(cut, 7)
    assert resting <= 1 and ticking >= 2, (resting, ticking)

    # the stream drops (a proxy restart): after a short grace the timer is back at its own interval
    pushed.route("**/api/v1/changes*", lambda route: route.abort())
    pushed.evaluate("gridCockpitLive.controller.abort()")
    pushed.wait_for_timeout(3500)
    assert _timer_renders(pushed, 7) >= 2


def test_a_change_before_the_stream_connects_is_drawn(live_server, page_factory, world_engine):
    """The page's first render and its change stream start together: a change that lands before the stream
    connects is drawn when its first version arrives (that version is asked for), not a minute later. (The event
    raises no warning: the world is shared with later tests that rank warnings.)"""
    import json
    import time

    import requests
    from sqlalchemy import text

    from governance.accounts.api_clients import create_client
    from .conftest import http_session

    held, ticks = [], []

    def timer_tick(route):
        """The refresh timer's renders answer 204 (Dash: nothing to update): only the stream can draw."""
        body = json.loads(route.request.post_data or "{}")
        if body.get("changedPropIds") == ["cockpit-refresh.n_intervals"]:
            ticks.append(1)
            route.fulfill(status=204)
        else:
            route.continue_()

    page = page_factory(1920, 1080)
    page.route("**/api/v1/changes*", lambda route: held.append(route))  # the stream connects late
    page.goto(live_server + "/")
    page.wait_for_selector("#event-list li")
    page.route("**/_dash-update-component*", timer_tick)
    page.wait_for_timeout(2500)  # the timer ticks meanwhile and draws nothing
    with world_engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
        lon, lat = conn.execute(text("SELECT centroid_lon, centroid_lat FROM area WHERE code=:c"),
                                {"c": focus}).one()
    marker = f"STREAM-FIRST-{time.time_ns()}"
    token = create_client(world_engine, f"stream-first-{time.time_ns()}")
    requests.post(live_server + "/api/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "source_key": marker, "category": "乱堆物堆料", "lon": lon, "lat": lat, "title": marker,
        "address": marker}).raise_for_status()
    # The release comes once the server's version has settled after the push (the warning sync that follows a
    # new event moves it again): the stream's first version is then the page's only news of the event.
    http = http_session(world_engine, live_server, "leader")
    settled, last = 0, None
    for _ in range(60):
        now = http.get(live_server + "/api/v1/changes?once=1", timeout=10).text.split("data: ")[1].split("|p")[0].strip()
        settled, last = (settled + 1 if now == last else 0), now
        if settled >= 3:
            break
        page.wait_for_timeout(500)
    assert settled >= 3, "the data version settled after the push"
    assert marker not in page.inner_text("#event-list")
    assert held, "the page asked for its change stream"
    assert ticks, "the refresh timer ticked (and was answered with nothing)"
    held[0].continue_()
    page.wait_for_function(f"document.querySelector('#event-list').innerText.includes('{marker}')", timeout=8_000)


def test_a_version_asked_for_after_the_cockpit_was_left_writes_nothing(live_server, page_factory):
    """A version the stream delivered just as the cockpit was left (or one waiting for a render to land) reaches
    the next page, where the cockpit's stores no longer exist: it is dropped there, set_props is not called (it
    throws for an id the page does not hold)."""
    page = page_factory(1920, 1080)
    page.goto(live_server + "/")
    page.wait_for_selector("#event-list li")
    page.click(".page-links a[href='/events']")
    page.wait_for_function("document.title === '事件台账 · 网格驾驶舱'", timeout=20000)
    outcome = page.evaluate("""() => {
        gridCockpitLive.renders = 0;
        try { gridCockpitAsk("left-behind"); gridCockpitTimer(60000); return "dropped"; }
        catch (e) { return "threw: " + e.message; } }""")
    assert outcome == "dropped"
    assert page.console_errors == []
