"""The change watcher behind GET /api/v1/changes: a committed write wakes it within a second.

On PostgreSQL the watcher LISTENs for the NOTIFY that migration 0020's triggers send at commit, so
these tests make polling too slow to pass them (60 s); on SQLite polling is the mechanism.
"""
import time
from datetime import datetime

import pytest
from sqlalchemy import text

from dashboard import live_routes


def _touch_an_event(engine) -> None:
    """Commit a real change to the event data (the latest event's updated_at moves)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET updated_at = :now WHERE id = (SELECT max(id) FROM event)"),
                     {"now": datetime(2030, 1, 1, 0, 0, time.time_ns() % 60)})


def _woken_after(watcher, engine) -> float:
    """Seconds from committing a change until the watcher reports a new version (inf if it never does)."""
    seen = watcher.listen()
    try:
        time.sleep(0.5)  # the watcher is now waiting (on its channel or its poll)
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
        time.sleep(0.5)
        with engine.begin() as conn:  # the server ends the listening session (a restart, a proxy timeout …)
            ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE query LIKE 'LISTEN%' AND datname = current_database()")).all()
        assert ended, "the watcher holds no LISTEN connection"
        time.sleep(0.5)
        _touch_an_event(engine)
        assert watcher.wait(seen, timeout=3) != seen
    finally:
        watcher.leave()
