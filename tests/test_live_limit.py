"""A web process holds at most COCKPIT_LIVE_STREAMS change streams (each holds a server thread): the next browser
is told to come back in a minute (503, its page keeps the refresh interval meanwhile), a one-off read still
answers, and a stream whose browser has gone frees its place."""
from __future__ import annotations

import requests

from governance.core.config import load_settings

from .conftest import TEST_SECRET, WORLD_NOW, http_session
from .test_live_changes import _touch_an_event
from .test_two_apps import _serve
from .waiting import until


def test_streams_beyond_the_limit_wait_a_minute_until_one_closes(engine, tmp_path, cockpit_app, live_server):
    from dashboard import runtime
    from dashboard.app import create_app

    before = runtime.current()
    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False), refresh_seconds=2,
                             cache_seconds=0, secret_key=TEST_SECRET, live_streams=1,
                             cache_dir=str(tmp_path / "cache"), photo_dir=str(tmp_path / "photos"))
    url, server = _serve(create_app(settings, engine, clock=lambda: WORLD_NOW))
    try:
        wall, leader = http_session(engine, url, "leader"), http_session(engine, url, "community")
        first = wall.get(url + "/api/v1/changes", stream=True, timeout=30)
        assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/event-stream")
        opening = next(first.iter_lines(decode_unicode=True))
        assert opening.startswith("retry: ")

        refused = leader.get(url + "/api/v1/changes", stream=True, timeout=30)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
        assert refused.text.startswith("retry: 60000")  # the browser's EventSource waits a minute, not 2 s
        once = leader.get(url + "/api/v1/changes?once=1", timeout=30)  # monitoring is never refused
        assert once.status_code == 200 and "data: " in once.text

        first.close()  # the wall's browser has gone; its stream learns so at the next line it writes
        _touch_an_event(engine)

        def admitted():
            r = leader.get(url + "/api/v1/changes", stream=True, timeout=30)
            r.close()
            return r.status_code == 200
        until(admitted, 20, "the closed stream kept its place")
    finally:
        server.shutdown()
        runtime.install(before)
