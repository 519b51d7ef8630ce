"""Background work for what was just opened: newest first, the oldest forgotten, a failure stops nothing."""
from __future__ import annotations

import threading

from governance.core.newest_first import NewestFirst

from .waiting import until


def test_the_newest_job_runs_first_and_the_oldest_beyond_the_bound_are_forgotten():
    gate, ran = threading.Event(), []
    work = NewestFirst(keep=2, name="test-newest-first")
    work.submit("busy", lambda: (gate.wait(10), ran.append("busy")))
    until(lambda: work.waiting() == [], timeout=5, message="the first job did not start")
    for key in "abcd":
        work.submit(key, lambda key=key: ran.append(key))
    assert work.waiting() == ["c", "d"] and work.dropped == 2
    work.submit("c", lambda: ran.append("c again"))  # asked again: replaces the waiting one, now the newest
    assert work.waiting() == ["d", "c"]
    gate.set()
    until(lambda: len(ran) == 3, timeout=5, message=f"jobs left unrun: {ran}")
    assert ran == ["busy", "c again", "d"]


def test_a_failing_job_does_not_stop_the_ones_after_it(caplog):
    ran = []
    work = NewestFirst(keep=4, name="test-newest-first-failing")
    gate = threading.Event()
    work.submit("busy", lambda: gate.wait(10))
    until(lambda: work.waiting() == [], timeout=5, message="the first job did not start")
    work.submit("after", lambda: ran.append("after"))
    work.submit("bad", lambda: 1 / 0)
    gate.set()
    until(lambda: ran == ["after"], timeout=5, message="the job after a failure did not run")
    assert "ZeroDivisionError" in caplog.text
