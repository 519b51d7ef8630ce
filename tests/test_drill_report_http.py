"""The printable drill report over real HTTP: per community and per worker, for those who run drills only."""
from __future__ import annotations

from sqlalchemy import text

from governance.events.drills import start_drill, worker_results

from .conftest import WORLD_NOW, http_session


def test_printable_drill_report_lists_every_worker(world_engine, live_server):
    a = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        drill = start_drill(conn, a, 3, "test", WORLD_NOW, seed=77)
        workers = worker_results(conn, drill, WORLD_NOW)
        cname = conn.execute(text("SELECT name FROM area WHERE code = :c"), {"c": a}).scalar()
    assert len(workers) == 3
    leader = http_session(world_engine, live_server, "leader")
    resp = leader.get(f"{live_server}/drill/{drill}/print", timeout=60)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    html = resp.text
    assert f"网格赶考报告 {drill}" in html and f"{cname} · 每人结果" in html
    for w in workers:
        assert f"<td>{w['worker']}</td><td>{w['grid']}</td>" in html
    assert html.count("未签收") >= 3  # nobody has responded yet
    for who in ("community", "community_b", "viewer"):  # no run_drills: refused
        assert http_session(world_engine, live_server, who).get(
            f"{live_server}/drill/{drill}/print", timeout=60).status_code in (403, 404)
    assert leader.get(f"{live_server}/drill/19700101000000-0000/print", timeout=60).status_code == 404
    with world_engine.begin() as conn:  # the shared world keeps no drill of this test
        ids = {"k": f"DRILL-{drill}-%"}
        conn.execute(text("DELETE FROM event_audit WHERE event_id IN (SELECT id FROM event WHERE source = 'drill' "
                          "AND source_key LIKE :k)"), ids)
        conn.execute(text("DELETE FROM event WHERE source = 'drill' AND source_key LIKE :k"), ids)
