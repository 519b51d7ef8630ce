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



def test_work_done_ahead_waits_for_a_moment_without_callback_requests():
    # The drill-down warmer starts each child only when this process answers no callback request.
    import requests
    from flask import Flask
    from werkzeug.serving import make_server

    from dashboard import cockpit_data as data

    server = Flask(__name__)
    data.install_quiet_signal(server)
    gate, answered = threading.Event(), []

    @server.post("/_dash-update-component")
    def slow_callback():  # a callback being answered while the warmer waits
        gate.wait(20)
        return "{}"

    http = make_server("127.0.0.1", 0, server, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_port}"
    try:
        until(lambda: data.wait_until_quiet(0.1), timeout=10, message="this process never became quiet")
        sender = threading.Thread(target=lambda: answered.append(
            requests.post(base + "/_dash-update-component", json={}, timeout=30).status_code), daemon=True)
        sender.start()
        until(lambda: data._ANSWERING[0] > 0, timeout=10, message="the callback request was not counted")
        assert not data.wait_until_quiet(0.3), "a callback is being answered: not quiet"
        gate.set()
        sender.join(timeout=30)
        assert answered == [200] and data.wait_until_quiet(5), "once answered, quiet again"
    finally:
        gate.set()
        http.shutdown()
