"""Bad input over real HTTP: a clear 4xx in Chinese, never a 500, and limits that hold for chunked bodies."""
from __future__ import annotations

import json

import requests

from .conftest import http_session
from .test_access import _post


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_a_chunked_body_past_the_limit_is_refused(world_engine, live_server):
    from governance.accounts.api_clients import create_client

    token = create_client(world_engine, "分块测试")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    big = requests.post(live_server + "/api/v1/events", data=_chunks(5 * 1024 * 1024), headers=headers, timeout=60)
    assert big.status_code == 413 and "请求体过大" in big.json()["error"]
    def small_body():  # within the limit, chunked: an empty JSON list padded with spaces (nothing is stored)
        yield b"["
        yield from _chunks(4000)
        yield b"]"

    small = requests.post(live_server + "/api/v1/events", data=small_body(), headers=headers, timeout=60)
    assert small.status_code == 202 and small.json()["accepted"] == 0  # read whole, not cut short
    leader = http_session(world_engine, live_server, "leader")
    dash_big = leader.post(live_server + "/_dash-update-component", data=_chunks(5 * 1024 * 1024),
                           headers={"Content-Type": "application/json"}, timeout=60)
    assert dash_big.status_code == 413


def test_an_impossible_ledger_date_gets_a_message_not_a_500(world_engine, live_server, cockpit_app):
    leader = http_session(world_engine, live_server, "leader")
    resp = _post(leader, live_server, cockpit_app, "refresh_table", 1, ("f-dates", "end_date"),
                 {("f-dates", "end_date"): "2026-13-45", ("events-area", "data"): world_engine.accounts["focus"]})
    assert resp.status_code == 200
    assert "日期无效" in json.dumps(resp.json(), ensure_ascii=False)


def test_unknown_script_paths_are_404_in_chinese(live_server):
    resp = requests.get(live_server + "/_dash-component-suites/dash/no-such-file.v1m1.js", timeout=30)
    assert resp.status_code == 404
    resp = requests.get(live_server + "/_dash-component-suites/not_a_package/x.js", timeout=30,
                        headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.json()["error"] == "无此资源或无权访问"


def test_exports_and_callback_answers_are_never_cached(world_engine, live_server):
    leader = http_session(world_engine, live_server, "leader")
    focus = world_engine.accounts["focus"]
    for url in (f"/api/v1/events.csv?area={focus}&from=2026-11-19", f"/api/v1/events.xlsx?area={focus}&from=2026-11-19"):
        resp = leader.get(live_server + url, timeout=120)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store", url
