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
