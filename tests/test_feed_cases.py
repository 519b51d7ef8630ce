"""Citizen-case feed over real HTTP: hostile records, idempotence, updates, failures."""
import json

from sqlalchemy import text

from data_sources.cases import CasesSource
from data_sources.pipeline import run_source, source_states

from .feed_helpers import count, grid_points


def case(key, lon, lat, **over):
    rec = {"case_no": key, "channel": "12345", "type_code": "ZS-0301", "title": "噪音扰民",
           "content": "夜间施工噪音", "address": "测试地址", "lng": lon, "lat": lat, "status": "受理",
           "accept_time": "2026-11-19 21:30:00", "updated_at": "2026-11-19T21:30:00+08:00",
           "deadline": "2026-11-22 21:30:00", "satisfaction": None,
           "citizen": {"name": "王先生", "phone": "19900123456"}}
    rec.update(over)
    return rec


def page(items, page_no=1, total=1):
    return json.dumps({"page": page_no, "page_size": 100, "total_pages": total, "items": items},
                      ensure_ascii=False)


XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


def test_hostile_page_loses_nothing(engine, server):
    (gid, lon, lat), (gid2, lon2, lat2) = grid_points(engine, 2)
    good = [case("C-1", lon, lat, content=XSS), case("C-2", lon2, lat2, content="长" * 1_000_000),
            case("C-3", lon, lat, accept_time="2026-11-19 08:00:00", updated_at="2026-11-19 08:00:00"),
            case("C-4", 121.47, 31.23),  # inside China but outside every grid: kept, flagged
            case("C-1", lon, lat, content=XSS, status="转办",
                 updated_at="2026-11-19T22:00:00+08:00")]  # the same key again, later
    bad = [{"channel": "12345"},                                        # no key
           case("B-1", "abc", lat),                                     # wrong type
           case("B-2", lon, 999),                                       # out of range
           case("B-3", lon, lat, type_code="XX-9999"),                  # unknown category
           case("B-4", lon, lat, accept_time="yesterday-ish"),          # unparseable time
           case("B-5", lon, lat, citizen="王先生"),                     # wrong-typed object
           "not an object"]
    server.add("/api/cases", page(good + bad))
    stats = run_source(engine, CasesSource(server.url))
    assert stats.received == len(good) + len(bad)
    assert stats.out + stats.quarantined == stats.received
    assert stats.quarantined == len(bad)
    with engine.connect() as conn:
        rows = {r.source_key: r for r in conn.execute(text(
            "SELECT * FROM event WHERE source='cases' AND source_key LIKE 'C-%'"))}
        reasons = [r[0] for r in conn.execute(text("SELECT reason FROM quarantine WHERE source='cases'"))]
    assert set(rows) == {"C-1", "C-2", "C-3", "C-4"}
    assert rows["C-1"].description == XSS and rows["C-1"].status == "assign"
    assert rows["C-1"].area_id == gid and rows["C-4"].area_id is None and rows["C-4"].outside_grid
    assert len(rows["C-2"].description) < 20_000
    assert len(json.loads(rows["C-2"].raw_payload)["content"]) == 1_000_000
    # 08:00 in Shanghai without a zone = 00:00 UTC
    assert str(rows["C-3"].reported_at).startswith("2026-11-19 00:00:00")
    joined = " | ".join(reasons)
    for fragment in ["缺少字段 诉求编号", "数值字段 经度 无法解析", "坐标超出范围", "未知诉求类别",
                     "无法解析", "citizen 字段应为对象", "记录不是对象"]:
        assert fragment in joined


def test_rerun_changes_nothing_and_updates_are_audited(engine, server):
    (_, lon, lat), = grid_points(engine, 1)
    server.add("/api/cases", page([case("U-1", lon, lat)]))
    run_source(engine, CasesSource(server.url), force=True)
    audits = count(engine, "SELECT COUNT(*) FROM event_audit")
    run_source(engine, CasesSource(server.url), force=True)
    assert count(engine, "SELECT COUNT(*) FROM event_audit") == audits
    assert count(engine, "SELECT COUNT(*) FROM event WHERE source_key='U-1'") == 1

    server.script.clear()
    server.add("/api/cases", page([case("U-1", lon, lat, status="回访", satisfaction="基本满意",
                                        finish_time="2026-11-20 10:00:00",
                                        updated_at="2026-11-20T10:30:00+08:00")]))
    run_source(engine, CasesSource(server.url), force=True)
    with engine.connect() as conn:
        ev = conn.execute(text("SELECT * FROM event WHERE source_key='U-1'")).one()
        trail = conn.execute(text("SELECT field, from_value, to_value FROM event_audit "
                                  "WHERE event_id=:i ORDER BY id"), {"i": ev.id}).all()
    assert ev.status == "closed" and ev.satisfaction == 4
    assert ("status", "discover", "closed") in [tuple(t) for t in trail]
    assert ("source_status", "受理", "回访") in [tuple(t) for t in trail]
    # the next pull asks only for what changed since the newest updated_at seen
    run_source(engine, CasesSource(server.url), force=True)
    assert server.requests[-1][1]["updated_since"].startswith("2026-11-20T10:30:00")


def test_server_error_is_recorded_and_backed_off(engine, server):
    server.add("/api/cases", "boom", status=500)
    src = CasesSource(server.url, interval_seconds=30)
    stats = run_source(engine, src)
    state = source_states(engine)["cases"]
    assert stats.received == 0
    assert "HTTP 500" in state.last_error and state.consecutive_failures == 1
    assert state.next_attempt_at is not None
    assert run_source(engine, src) is None  # still backing off
    assert len(server.requests) == 3  # one run: first try + 2 retries with backoff


def test_timeout_is_a_feed_error(engine, server):
    server.add("/api/cases", page([]), delay=2.0)
    src = CasesSource(server.url)
    src.timeout = (1.0, 0.3)
    src.http.adapters["http://"].max_retries.total = 0
    run_source(engine, src)
    assert "超时" in source_states(engine)["cases"].last_error


def test_half_page_keeps_earlier_pages_and_cursor(engine, server):
    (_, lon, lat), = grid_points(engine, 1)
    server.add("/api/cases", page([case("P-1", lon, lat)], 1, 2), key="page=1")
    full = page([case("P-2", lon, lat, updated_at="2026-11-20T09:00:00+08:00")], 2, 2)
    server.add("/api/cases", full[: len(full) // 2], key="page=2")
    run_source(engine, CasesSource(server.url))
    state = source_states(engine)["cases"]
    assert count(engine, "SELECT COUNT(*) FROM event WHERE source_key='P-1'") == 1
    assert count(engine, "SELECT COUNT(*) FROM event WHERE source_key='P-2'") == 0
    assert "半页" in state.last_error
    assert state.cursor.startswith("2026-11-19T21:30:00")
