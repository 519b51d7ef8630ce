"""The change watcher behind GET /api/v1/changes: a committed write wakes it within a second.

On PostgreSQL the watcher LISTENs for the NOTIFY that migration 0020's triggers send at commit, so
these tests make polling too slow to pass them (60 s); on SQLite polling is the mechanism.
"""
import time
from datetime import datetime

import pytest
from sqlalchemy import text

from dashboard import live_routes

from .waiting import until


def _touch_an_event(engine) -> None:
    """Commit a real change to the event data (the latest event's updated_at moves)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET updated_at = :now WHERE id = (SELECT max(id) FROM event)"),
                     {"now": datetime(2030, 1, 1, 0, 0, time.time_ns() % 60)})


def _listen_backends(engine) -> int:
    """How many connections LISTEN in this test's database (the watcher's change channel)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
                                 "AND datname = current_database()")).scalar()


def _until_watching(engine) -> None:
    """Return once the watcher can see the next commit: on PostgreSQL its LISTEN connection is open (a
    NOTIFY sent before it would be missed until the fallback read). On SQLite there is nothing to wait for:
    `listen()` has started the polling thread, whose first read compares with the version it returned."""
    if engine.dialect.name == "postgresql":
        until(lambda: _listen_backends(engine) > 0, 10, "the watcher opened no LISTEN connection")


def _until_stopped(engine) -> None:
    """Return once a watcher left by its last listener has closed its LISTEN connection (PostgreSQL): it waits
    on that connection and sees it was left only when woken, so a commit wakes it. Until then the next watcher's
    `_until_watching` would count the old connection and touch before the new one listens (seen in CI)."""
    if engine.dialect.name == "postgresql":
        _touch_an_event(engine)
        until(lambda: _listen_backends(engine) == 0, 10, "the left watcher kept its LISTEN connection")


def _woken_after(watcher, engine) -> float:
    """Seconds from committing a change until the watcher reports a new version (inf if it never does)."""
    seen = watcher.listen()
    try:
        _until_watching(engine)
        start = time.perf_counter()
        _touch_an_event(engine)
        version = watcher.wait(seen, timeout=5)
        return time.perf_counter() - start if version != seen else float("inf")
    finally:
        watcher.leave()


def test_a_committed_change_wakes_the_watcher_within_a_second(engine, test_db, monkeypatch):
    monkeypatch.setattr(live_routes, "FALLBACK_SECONDS", 60.0)
    poll = 60.0 if test_db == "postgresql" else live_routes.POLL_SECONDS
    assert _woken_after(live_routes.VersionWatcher(engine, poll=poll), engine) < 1.0


@pytest.mark.skipif("config.getoption('--db') != 'postgresql'", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_a_dropped_listen_connection_falls_back_to_polling(engine, monkeypatch):
    monkeypatch.setattr(live_routes, "FALLBACK_SECONDS", 60.0)
    watcher = live_routes.VersionWatcher(engine, poll=0.2)
    seen = watcher.listen()
    try:
        _until_watching(engine)
        with engine.begin() as conn:  # the server ends the listening session (a restart, a proxy timeout …)
            ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE query LIKE 'LISTEN%' AND datname = current_database()")).all()
        assert ended, "the watcher holds no LISTEN connection"
        # the server has ended it (else the change below could still arrive by NOTIFY, not by the fallback)
        until(lambda: _listen_backends(engine) == 0, 10, "the LISTEN connection was not ended")
        _touch_an_event(engine)
        assert watcher.wait(seen, timeout=3) != seen
    finally:
        watcher.leave()


def test_a_burst_of_changes_is_published_as_at_most_one_version_a_second(engine, test_db, monkeypatch):
    """Five dispatchers at work change the data several times a second; each published version makes every
    open view recompute, so the watcher publishes at most one per PUSH_GAP_SECONDS — and the last change
    is never lost."""
    import threading

    from governance.core.cache import data_version

    monkeypatch.setattr(live_routes, "FALLBACK_SECONDS", 60.0)
    watcher = live_routes.VersionWatcher(engine, poll=0.05)
    published, done = [], threading.Event()

    def follow(seen):
        while not done.is_set():
            version = watcher.wait(seen, timeout=0.2)
            if version != seen:
                published.append((time.perf_counter(), version))
                seen = version

    seen = watcher.listen()
    follower = threading.Thread(target=follow, args=(seen,), daemon=True)
    try:
        follower.start()
        _until_watching(engine)
        start = time.perf_counter()
        for _ in range(12):  # a change every 0.1 s for 1.2 s
            _touch_an_event(engine)
            time.sleep(0.1)  # the burst's pace is what is tested: several commits a second
        with engine.connect() as conn:
            final = data_version(conn)
        # until the burst's last version is published (the data no longer changes, so nothing comes after it)
        until(lambda: published and published[-1][1] == final, live_routes.PUSH_GAP_SECONDS + 10,
              "the last change of the burst was not published")
    finally:
        done.set()
        follower.join(timeout=2)
        watcher.leave()
    times = [t for t, _ in published if t >= start]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) <= 3 and all(g >= live_routes.PUSH_GAP_SECONDS * 0.9 for g in gaps), (len(times), gaps)


def test_only_a_version_the_watcher_published_chooses_what_a_render_computes():
    """A pushed render uses the version from the browser's live-version store only when it is the one this
    process published (a forged or old value would make the server compute figures for any string)."""
    published = "76547|2026-12-03 14:19:38|2499|2026-12-03 14:07:40|r0"
    assert live_routes.accepted_version(published, published) == published
    assert live_routes.accepted_version(published + "|p1a2b3c4d", published) == published  # a wall's mark
    assert live_routes.accepted_version("forged|version", published) is None
    assert live_routes.accepted_version(published, None) is None  # no watcher here: read the database
    assert live_routes.accepted_version({"x": 1}, published) is None


def test_a_moved_version_is_prepared_before_the_streams_are_woken(engine, test_db, monkeypatch):
    """The figures every held wall will ask for are computed once before the version reaches them (the hook
    is dashboard.cockpit_data.prepare_pushed); a preparation that fails still lets the change through."""
    monkeypatch.setattr(live_routes, "FALLBACK_SECONDS", 60.0)
    poll = 60.0 if test_db == "postgresql" else live_routes.POLL_SECONDS
    prepared = []

    def prepare(version):
        prepared.append(version)
        time.sleep(0.2)  # the views' figures being computed: no stream may see the version meanwhile

    watcher = live_routes.VersionWatcher(engine, poll=poll, prepare=prepare)
    seen = watcher.listen()
    try:
        _until_watching(engine)
        _touch_an_event(engine)
        version = watcher.wait(seen, timeout=5)
        assert version != seen and prepared and prepared[-1] == version, (seen, version, prepared)
    finally:
        watcher.leave()
    _until_stopped(engine)

    def broken(version):
        raise RuntimeError("the database went away while preparing")

    assert _woken_after(live_routes.VersionWatcher(engine, poll=poll, prepare=broken), engine) < 2.0
