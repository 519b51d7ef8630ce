"""Two cockpit apps in ONE process, on two databases: each answers from its own and caches only its own.

App A is the session's app on the demo world; app B is a second create_app on a private copy of that
world with visible differences (a renamed community, three events pushed to B only). Both serve real
HTTP (two local servers in this process) and are asked in turn: KPIs of the cockpit's render callback,
the geometry route, the live data version, push authentication, sign-in sessions.
"""
from __future__ import annotations

import json
import threading

import geobuf
import pytest
import requests
import shapely
from sqlalchemy import text

from governance.core.config import load_settings

from .admin_helpers import dash_call
from .conftest import TEST_SECRET, WORLD_NOW, http_session

RENAMED = "双城测试社区"
PUSHED = 3


def _serve(app):
    """Serve `app` on a free localhost port in a thread of this process; returns (base URL, server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture()
def second_app(engine, world_engine, tmp_path, cockpit_app, live_server):
    """World B (a copy with a renamed community and three pushed events) served by a second app."""
    from dashboard import runtime
    from dashboard.app import create_app
    from governance.accounts.api_clients import create_client

    focus, community = world_engine.accounts["focus"], world_engine.accounts["communities"][0]
    with engine.begin() as conn:
        conn.execute(text("UPDATE area SET name = :n WHERE code = :c"), {"n": RENAMED, "c": community})
        grid = conn.execute(text("SELECT geometry FROM area WHERE level = 'micro_grid' AND path LIKE :p "
                                 "ORDER BY id LIMIT 1"), {"p": f"%/{focus}/%"}).scalar()
    before = runtime.current()  # outside any app: the one installed last (the session's app)
    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False), refresh_seconds=2,
                             cache_seconds=0, secret_key=TEST_SECRET, cache_dir=str(tmp_path / "cache-b"),
                             photo_dir=str(tmp_path / "photos-b"))
    app = create_app(settings, engine, clock=lambda: WORLD_NOW)
    url, server = _serve(app)
    token = create_client(engine, "two-apps")
    point = shapely.from_geojson(grid).representative_point()
    batch = [{"source_key": f"TWO-{i}", "category": "0503", "lon": point.x, "lat": point.y,
              "reported_at": "2026-11-20T11:00:00+08:00", "description": f"只在B库的事件{i}"} for i in range(PUSHED)]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(live_server + "/api/v1/events", json=batch, headers=auth).status_code == 401  # A: unknown
    pushed = requests.post(url + "/api/v1/events", json=batch, headers=auth)
    assert pushed.status_code == 202 and pushed.json()["inserted"] == PUSHED, pushed.text
    try:
        yield app, url
    finally:
        server.shutdown()
        runtime.install(before)  # later tests outside any app keep using the session's app


def _kpi_texts(tree) -> dict[str, str]:
    """data-kpi → the card's value text, from a rendered kpi-strip (Dash JSON)."""
    found, stack = {}, [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            props = node.get("props", node)
            if "data-kpi" in props:
                found[props["data-kpi"]] = props.get("children")
            stack.extend(v for v in props.values() if isinstance(v, (list, dict)))
    return found


def _render(client, base: str, app, code: str) -> dict:
    """The cockpit's render callback for the view of area `code` (what a browser opening #area=code gets)."""
    resp = dash_call(client, base, app, "render", {"url.hash": f"#area={code}"}, trigger="url", prop="hash")
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()["response"]


def _expected(engine, path: str, period: str):
    from governance.figures.kpis import compute_kpis

    with engine.begin() as conn:
        return compute_kpis(conn, path, period, WORLD_NOW)


def _names(body: bytes) -> dict[str, str]:
    return {f["properties"]["code"]: f["properties"]["name"] for f in geobuf.decode(body)["features"]}


def _version(engine) -> str:
    from governance.core.cache import data_version

    with engine.connect() as conn:
        return data_version(conn)


def test_two_apps_in_one_process_answer_and_cache_from_their_own_database(
        world_engine, engine, cockpit_app, live_server, second_app):
    from dashboard.components.kpi_strip import kpi_values

    app_b, url_b = second_app
    acc = world_engine.accounts
    focus, community = acc["focus"], acc["communities"][0]
    with world_engine.connect() as conn:
        focus_path, original = conn.execute(text("SELECT path, (SELECT name FROM area WHERE code = :c) FROM area "
                                                 "WHERE code = :f"), {"f": focus, "c": community}).one()
    sides = {"A": (cockpit_app, live_server, world_engine, http_session(world_engine, live_server, "leader")),
             "B": (app_b, url_b, engine, http_session(engine, url_b, "leader"))}
    expected_name = {"A": original, "B": RENAMED}
    answers: dict = {"A": [], "B": []}
    for _round in range(2):  # interleaved: A, B, A, B — each answer from its own database every time
        for side, (app, base, eng, client) in sides.items():
            out = _render(client, base, app, focus)
            period = out["cockpit-period"]["value"]
            snapshot = _expected(eng, focus_path, period)
            assert _kpi_texts(out["kpi-strip"]["children"]) == kpi_values(snapshot), side
            answers[side].append(snapshot)
            title = json.dumps(_render(client, base, app, community)["area-title"], ensure_ascii=False)
            assert expected_name[side] in title, (side, title[:200])
            geo = client.get(f"{base}/api/v1/geo/{focus}/community.pbf")
            assert geo.status_code == 200 and _names(geo.content)[community] == expected_name[side], side
            once = client.get(f"{base}/api/v1/changes?once=1").text
            assert f"data: {_version(eng)}" in once, (side, once)
            with client.get(f"{base}/api/v1/changes", stream=True, timeout=10) as live:  # the app's watcher
                first = next(live.iter_lines(decode_unicode=True, delimiter="\n\n"))
            assert f"data: {_version(eng)}" in first, (side, first)
    a, b = answers["A"][0], answers["B"][0]
    pushed_here = text("SELECT count(*) FROM event WHERE source_key LIKE 'TWO-%'")
    with world_engine.connect() as in_a, engine.connect() as in_b:  # the worlds differ: B's pushes are B's only
        assert (in_a.execute(pushed_here).scalar(), in_b.execute(pushed_here).scalar()) == (0, PUSHED)
    assert _version(engine) != _version(world_engine)
    # A session opened in B's database is nobody on A (and the other way round): each signs in on its own
    b_cookie = sides["B"][3].cookies.get("gc_session")
    stranger = requests.get(live_server + "/", cookies={"gc_session": b_cookie}, allow_redirects=False)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]

    # Each app's caches hold its own data only
    from dashboard import cockpit_data, geo_routes, live_routes, runtime

    rt_a, rt_b = runtime.of(cockpit_app), runtime.of(app_b)
    assert rt_a is not rt_b and rt_a.engine is world_engine and rt_b.engine is engine
    for rt, own, other in ((rt_a, a, b), (rt_b, b, a)):
        newest = rt.cache(cockpit_data.LATEST)
        kept = [newest.get(k) for k in newest.keys() if k[0] == "kpis" and k[1][0] == focus_path]
        # its own figures are there and the other world's never are (A, the session's app, may also keep
        # figures of earlier tests in the same process: the shared world changes between tests)
        assert own in kept and (own == other or other not in kept), (kept, own, other)
        assert rt is rt_a or all(k == b for k in kept)  # B, made for this test, holds nothing else
        encoded = rt.cache(geo_routes.ENCODED)
        bodies = [encoded.get(k)[0] for k in encoded.keys() if k[1] == focus and k[2] == "community"]
        assert bodies and all(_names(body)[community] == (RENAMED if rt is rt_b else original) for body in bodies)
        assert list(rt.cache(live_routes.WATCHERS).keys()) == [rt.engine]
    from governance.core.cache import namespace_of

    assert {k[1] for k in rt_b.cache(cockpit_data.SHARED).keys()} == {rt_b.settings.database_url}
    assert namespace_of(rt_a.settings.database_url) != namespace_of(rt_b.settings.database_url)
    # and Dash gave the second app every callback of the house, not only those of the first app
    assert set(app_b.callback_map) == set(cockpit_app.callback_map)


def test_outside_any_app_the_last_installed_runtime_answers_and_a_bound_one_wins(cockpit_app, second_app):
    from flask import Flask

    from dashboard import runtime

    app_b, _ = second_app
    rt_a, rt_b = runtime.of(cockpit_app), runtime.of(app_b)
    assert runtime.current() is rt_b  # no app context: the last created (CLI, scripts)
    with cockpit_app.server.app_context():
        assert runtime.current() is rt_a
        with runtime.using(rt_b):
            assert runtime.current() is rt_b
        assert runtime.bound(runtime.current)() is rt_a  # what a pool task started here would see
    with Flask("other").app_context():  # an app without a runtime: the fallback
        assert runtime.current() is rt_b
    box = []
    worker = threading.Thread(target=runtime.bound(lambda: box.append(runtime.current()), rt_a))
    worker.start()
    worker.join()
    assert box == [rt_a]


def test_a_runtime_cache_is_bounded_and_forgets_the_least_recently_used():
    from dashboard.runtime import Bounded, CacheSpec

    cache = Bounded(CacheSpec("t", 2, "test entries"))
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"] and cache.get("b") is None
    assert cache.setdefault("a", lambda: 9) == 1 and cache.setdefault("d", lambda: 4) == 4
    assert len(cache) == 2 and "c" not in cache


def test_settings_read_from_two_databases_stay_apart_in_one_process(world_engine, engine):
    """The governance caches of settings kept in the database are keyed by that database's changes."""
    from sqlalchemy import delete, insert

    from governance.models import RuleOverride
    from governance.console.rule_settings import current_rules, effective_doc, file_doc, get_path, overrides
    from governance.alerts.warnings import parse_rules

    path = "event.red_at_severity"
    with world_engine.connect() as conn:  # A's value in force (earlier tests may have changed it in the console)
        in_a = get_path(effective_doc(overrides(conn)), path)
    changed = 2 if in_a != 2 and get_path(file_doc(), path) != 2 else 3 if in_a != 3 else 4
    with engine.begin() as conn:  # B only: a change made in its console (replacing one copied from A, if any)
        conn.execute(delete(RuleOverride).where(RuleOverride.path == path))
        conn.execute(insert(RuleOverride), [{"path": path, "value": changed, "revision": 999,
                                             "updated_at": WORLD_NOW, "updated_by": "test"}])
    for _round in range(2):  # interleaved, each read from its own database
        for eng in (world_engine, engine, world_engine):
            with eng.connect() as conn:
                own = overrides(conn)
            assert current_rules(eng) == parse_rules(effective_doc(own))
    with world_engine.connect() as a, engine.connect() as b:
        assert overrides(b)[path] == changed and overrides(a).get(path) != changed
    assert current_rules(engine) != current_rules(world_engine)
