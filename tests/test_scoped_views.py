"""A change recomputes only the views it lands in: a view's stamp is the last data version that changed its area.

Walls of one community keep their figures, outputs and stamp while dispatchers work in another community
(nothing is recomputed for them), and a change inside the area moves its stamp at once. Tested on the real
query (changed_paths on a copy of the demo world), on the pure bookkeeping (ChangeLog), and end to end
through a second app's render callback over HTTP.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from dashboard.cockpit_data import ChangeLog
from governance.core.cache import changed_paths, data_version, version_order
from governance.core.config import load_settings

from .admin_helpers import dash_call
from .conftest import TEST_SECRET, WORLD_NOW, http_session
from .test_two_apps import _kpi_texts

V = "{}|2026-11-20 10:00:{:02d}|50|2026-11-20 09:00:00|r0"  # data versions in order: V.format(100 + i, i)


def _v(i: int) -> str:
    return V.format(100 + i, i)


def test_the_change_log_answers_the_last_version_that_touched_an_area():
    changed = {_v(1): {"/c/A/g1/"}, _v(2): {"/c/B/g7/"}, _v(3): {"/c/B/g8/"}}
    asked = []

    def changes(since):
        asked.append(since)
        return changed[_v(int(since.split("|")[1][-2:]) + 1)]

    log = ChangeLog()
    assert log.scope_version(_v(0), "/c/A/", changes) == _v(0)  # the first version seen: all areas count as changed
    for i in (1, 2, 3):
        log.scope_version(_v(i), "/c/", changes)
    assert asked == [_v(0), _v(1), _v(2)]  # each new version learnt once, from the one before
    assert log.scope_version(_v(3), "/c/A/", changes) == _v(1)  # A last changed at 1
    assert log.scope_version(_v(3), "/c/B/", changes) == _v(3)
    assert log.scope_version(_v(2), "/c/B/", changes) == _v(2)
    assert log.scope_version(_v(3), "/c/", changes) == _v(3)  # the parent sees every change below it
    assert log.scope_version(_v(3), "/c/C/", changes) == _v(0)  # never changed since the first version
    assert len(asked) == 3  # answering from what is known asks nothing


def test_the_change_log_falls_back_to_the_version_itself_when_it_cannot_tell():
    log = ChangeLog()
    everything = lambda since: None  # noqa: E731 - e.g. the warning settings changed
    assert log.scope_version("not-a-version", "/c/A/", everything) == "not-a-version"
    log.scope_version(_v(5), "/c/", everything)
    assert log.scope_version(_v(4), "/c/A/", everything) == _v(4)  # older than anything remembered
    assert log.scope_version(_v(6), "/c/A/", everything) == _v(6)  # a change of every area
    small = ChangeLog()
    small.SIZE = 3
    for i in range(6):
        small.scope_version(_v(i), "/c/", lambda since: {"/c/B/"})
    # A never changed, but what came before the oldest remembered version is unknown: that one answers
    assert small.scope_version(_v(5), "/c/A/", lambda since: set()) == _v(3)


def test_the_change_log_learns_a_new_version_once_under_concurrent_askers():
    log, asked, lock = ChangeLog(), [], threading.Lock()
    log.scope_version(_v(0), "/c/", lambda since: None)

    def changes(since):
        with lock:
            asked.append(since)
        return {"/c/A/"}

    threads = [threading.Thread(target=log.scope_version, args=(_v(1), "/c/B/", changes)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert asked == [_v(0)]


def _move(engine, community: str, now) -> tuple[int, str]:
    """Dispatch's next step (提交结果) on an event in `community`, as the event card does; (event id, its path)."""
    from governance.events.dispatch import advance

    with engine.begin() as conn:
        eid, path = conn.execute(text(
            "SELECT e.id, e.area_path FROM event e WHERE e.status = 'handle' AND e.duplicate_of_id IS NULL "
            "AND e.area_path LIKE :p ORDER BY e.id LIMIT 1"), {"p": f"%/{community}/%"}).one()
        advance(conn, eid, "feedback", "测试派单员", now, note="已处置")
    return eid, path


def _later(engine):
    """A clock after every write of the copied world (its data version then moves)."""
    from governance.core.timeutil import utcnow

    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(updated_at) FROM event")).scalar()
    latest = latest if not isinstance(latest, str) else __import__("datetime").datetime.fromisoformat(latest)
    return max(latest.replace(tzinfo=None), utcnow().replace(tzinfo=None)) + timedelta(minutes=1)


def test_changed_paths_names_the_areas_written_after_a_version(engine, world_engine):
    a, b = world_engine.accounts["communities"][:2]
    with engine.connect() as conn:
        before = data_version(conn)
        assert changed_paths(conn, before) == set()
        assert changed_paths(conn, "garbage") is None
    eid, path = _move(engine, a, _later(engine))
    with engine.connect() as conn:
        after = data_version(conn)
        assert version_order(after) > version_order(before)
        paths = changed_paths(conn, before)
    assert path in paths and all(f"/{b}/" not in p for p in paths)
    with engine.begin() as conn:  # a warning setting changed in the console recolours every area
        conn.execute(text("INSERT INTO rule_override (path, value, revision, updated_by, updated_at) "
                          "VALUES ('test.scoped', '48', 99, 'test', :t)"), {"t": WORLD_NOW})
    with engine.connect() as conn:
        assert changed_paths(conn, after) is None


@pytest.fixture()
def app_b(engine, tmp_path, cockpit_app, live_server):
    """A second app on this test's copy of the world (its changes stay in this test), served over HTTP."""
    from werkzeug.serving import make_server

    from dashboard import runtime
    from dashboard.app import create_app

    before = runtime.current()
    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False), refresh_seconds=2,
                             cache_seconds=0, secret_key=TEST_SECRET, cache_dir=str(tmp_path / "cache"),
                             photo_dir=str(tmp_path / "photos"))
    app = create_app(settings, engine, clock=lambda: WORLD_NOW)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        runtime.install(before)


def _render(client, base, app, code, last=None) -> dict:
    resp = dash_call(client, base, app, "render", {"url.hash": f"#area={code}", "view-stamp.data": last},
                     trigger="url", prop="hash")
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()["response"]


def test_a_dispatch_in_one_community_moves_only_the_views_it_lands_in(engine, world_engine, app_b):
    from dashboard.components.kpi_strip import kpi_values
    from governance.figures.kpis import compute_kpis

    app, base = app_b
    a, b = world_engine.accounts["communities"][:2]
    focus = world_engine.accounts["focus"]
    client = http_session(engine, base, "leader")
    first = {code: _render(client, base, app, code)["view-stamp"]["data"] for code in (a, b, focus)}
    _move(engine, a, _later(engine))
    again = {code: _render(client, base, app, code) for code in (a, b, focus)}
    stamps = {code: out["view-stamp"]["data"]["stamp"] for code, out in again.items()}
    assert stamps[b] == first[b]["stamp"]  # nothing landed in B: same stamp, same cached figures
    assert stamps[a] != first[a]["stamp"] and stamps[focus] != first[focus]["stamp"]  # A and its sub-district moved
    with engine.begin() as conn:
        paths = dict(conn.execute(text("SELECT code, path FROM area WHERE code IN (:a, :b)"), {"a": a, "b": b}).all())
        for code in (a, b):  # and every view shows what the database holds now
            shown = _kpi_texts(again[code]["kpi-strip"]["children"])
            period = again[code]["cockpit-period"]["value"]
            assert shown == kpi_values(compute_kpis(conn, paths[code], period, WORLD_NOW)), code
    # B's wall asking again with its stamp gets no panel: they are the same
    quiet = _render(client, base, app, b, last=again[b]["view-stamp"]["data"])
    panels = {"kpi-strip", "level-share", "warnings-panel", "ranking-panel", "event-list", "event-markers"}
    assert "cockpit-clock" in quiet and not panels & set(quiet), sorted(quiet)


def test_opening_a_view_computes_its_drill_down_views_ahead(engine, world_engine, app_b):
    from dashboard import cockpit_data as data
    from dashboard import runtime

    from .waiting import until

    app, base = app_b
    focus = world_engine.accounts["focus"]
    client = http_session(engine, base, "leader")
    with engine.connect() as conn:
        children = conn.execute(text("SELECT code, path FROM area WHERE level = 'community' AND path LIKE :p"),
                                {"p": f"%/{focus}/%"}).all()
    assert children
    out = _render(client, base, app, focus)
    version, minute = out["view-stamp"]["data"]["stamp"]
    period = out["cockpit-period"]["value"]
    missing = object()
    with runtime.using(runtime.of(app)):
        def cached(name, path, *args):
            st = data.scoped(data.Stamp(version, minute), path)
            return data.shared_cache().peek((name, st.version, st.minute, path, *args), missing) is not missing

        def all_warm():
            return all(cached("kpis", path, period) and cached("figures", path, "general_grid", period)
                       and cached("levels", path, period) and cached("latest", path, 12) for _code, path in children)
        until(all_warm, timeout=60, message="the communities' views were not computed ahead")


def _area_paths(engine, *codes: str) -> dict[str, str]:
    """code → path of the given areas."""
    with engine.connect() as conn:
        return {code: conn.execute(text("SELECT path FROM area WHERE code = :c"), {"c": code}).scalar()
                for code in codes}


def test_only_opening_a_view_computes_ahead_not_its_refreshes(engine, world_engine, app_b):
    # Under load every data version would otherwise recompute the children of every open view.
    from dashboard import cockpit_data as data
    from dashboard import runtime

    app, base = app_b
    a = world_engine.accounts["communities"][0]
    focus = world_engine.accounts["focus"]
    client = http_session(engine, base, "leader")
    paths = _area_paths(engine, a, focus)
    warmed = runtime.of(app).cache(data.WARMED)

    def warmed_for(code):
        return [k for k in warmed.keys() if k[0] == paths[code]]

    opened = _render(client, base, app, focus)
    assert len(warmed_for(focus)) == 1, "opening the view computes its drill-down views ahead"
    _move(engine, a, _later(engine))
    refreshed = _render(client, base, app, focus, last=opened["view-stamp"]["data"])
    moved = [op["params"]["value"] for op in refreshed["view-stamp"]["data"]["operations"] if op["location"] == ["stamp"]]
    assert moved and moved[0] != opened["view-stamp"]["data"]["stamp"], "the refresh rebuilt the view at a new stamp"
    assert len(warmed_for(focus)) == 1, "a refresh of the same view computed its children again"
    _render(client, base, app, a, last=opened["view-stamp"]["data"])  # a drill-down opens another view
    assert len(warmed_for(a)) == 1


def test_a_pushed_view_s_figures_are_ready_before_the_next_version_reaches_its_walls(engine, world_engine, app_b):
    # Every wall holding a change stream refreshes at the same moment: the watcher computes their views' figures
    # once before it publishes (prepare_pushed), so none of them waits for another's computation.
    from dashboard import cockpit_data as data
    from dashboard import live_routes, runtime

    from .admin_helpers import dash_call

    app, base = app_b
    a = world_engine.accounts["communities"][0]
    focus = world_engine.accounts["focus"]
    client = http_session(engine, base, "leader")
    path = _area_paths(engine, focus)[focus]
    opened = _render(client, base, app, focus)
    period = opened["cockpit-period"]["value"]
    with runtime.using(runtime.of(app)):
        watcher = live_routes.watcher()
        seen = watcher.listen()
    try:
        resp = dash_call(client, base, app, "render", {"url.hash": f"#area={focus}", "live-version.data": seen,
                                                       "view-stamp.data": opened["view-stamp"]["data"]},
                         trigger="live-version", prop="data")
        assert resp.status_code == 200, resp.text[:300]
        _move(engine, a, _later(engine))
        version = watcher.wait(seen, timeout=10)
        assert version != seen, "the change was not published"
        with runtime.using(runtime.of(app)):  # published: the focus view's figures at that version are there
            st = data.scoped(data.Stamp(version, WORLD_NOW.strftime("%Y%m%d%H%M")), path)
            assert st.version != data.scoped(data.Stamp(seen, st.minute), path).version
            cache = data.shared_cache()
            missing = object()
            ready = {name: cache.peek((name, st.version, st.minute, path, *args), missing) is not missing
                     for name, args in (("kpis", (period,)), ("levels", (period,)), ("latest", (12,)),
                                        ("figures", ("community", period)))}
        assert all(ready.values()), ready
    finally:
        watcher.leave()


def test_a_refresh_never_takes_a_view_back_to_an_older_version(engine, world_engine, app_b):
    # A timer tick right after a pushed refresh reads the version its process read seconds ago (the cache's
    # 5 s): the view on screen is newer, so the version is read again rather than the wall going back.
    from dashboard import cockpit_data as data
    from dashboard import runtime

    app, _base = app_b
    a = world_engine.accounts["communities"][0]
    with runtime.using(runtime.of(app)):
        old = data.stamp(fresh=True)
        _move(engine, a, _later(engine))
        new = data.stamp(fresh=True)
        assert new.version != old.version
        assert data.not_behind(old, new.version).version == new.version  # behind the screen: read again
        assert data.not_behind(new, old.version) is new  # at or after the screen: as it is
        assert data.not_behind(old, "forged|version") is old and data.not_behind(old, None) is old
