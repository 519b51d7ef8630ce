"""Grid events (GCJ-02/BD-09), safety files (GBK CSV, XLSX), Open311 windows, duplicates."""
import json
from datetime import datetime, timedelta

from openpyxl import Workbook
from sqlalchemy import text

from data_sources.grid_events import GridEventsSource
from data_sources.locate import locator_for
from data_sources.open311 import Open311Source
from data_sources.pipeline import run_source, source_states
from data_sources.safety import COLUMNS, SafetySource
from governance.core.geo import gcj02_to_bd09, wgs84_to_gcj02
from governance.figures.kpis import compute_kpis

from .feed_helpers import count, grid_points


def dld(key, x, y, coord="gcj02", **over):
    rec = {"eventId": key, "gridCode": "JTQ-01", "eventType": "A0102", "eventTypeName": "暴露垃圾",
           "eventDesc": "垃圾堆放", "location": {"x": x, "y": y, "coordType": coord}, "addr": "",
           "reportTime": 1763600000000, "updateTime": 1763600000000, "state": 3}
    rec.update(over)
    return rec


def test_grid_events_convert_datum_before_locating(engine, server):
    points = grid_points(engine, 40)
    # Pick a grid whose GCJ-02 offset (~300 m) lands the unconverted point in another grid.
    loc = locator_for(engine)
    gid, lon, lat = next(p for p in points
                         if loc.locate_many([float(wgs84_to_gcj02(p[1], p[2])[0])],
                                            [float(wgs84_to_gcj02(p[1], p[2])[1])])[0] is None
                         or loc.locate_many(*[[float(v)] for v in wgs84_to_gcj02(p[1], p[2])])[0][0] != p[0])
    g = wgs84_to_gcj02(lon, lat)
    b = gcj02_to_bd09(*g)
    records = [dld("G-1", float(g[0]), float(g[1])), dld("G-2", float(b[0]), float(b[1]), "bd09"),
               dld("G-3", 104.0, 30.6, "utm"), dld("G-4", 104.0, 30.6, state=7),
               {"eventId": "G-5", "eventType": "A0102", "state": 1}]
    server.add("/dld/v1/events", json.dumps({"code": 0, "msg": "ok",
                                             "data": {"records": records, "next": 1763600000000}}))
    stats = run_source(engine, GridEventsSource(server.url))
    with engine.connect() as conn:
        located = dict(conn.execute(text("SELECT source_key, area_id FROM event WHERE source='grid_events' AND source_key LIKE 'G-%'")).all())
        reasons = " | ".join(r[0] for r in conn.execute(text("SELECT reason FROM quarantine")))
    assert located == {"G-1": gid, "G-2": gid}
    assert stats.quarantined == 3
    assert "未知坐标系" in reasons and "未知大联动事件状态" in reasons and "缺少时间字段 reportTime" in reasons
    assert source_states(engine)["grid_events"].cursor == "1763600000000"


def test_grid_events_error_envelope_is_a_feed_error(engine, server):
    server.add("/dld/v1/events", json.dumps({"code": 500, "msg": "数据库维护中"}, ensure_ascii=False))
    run_source(engine, GridEventsSource(server.url))
    assert "数据库维护中" in source_states(engine)["grid_events"].last_error


def _row(key, lon, lat, **over):
    row = {"隐患编号": key, "排查时间": "2026-11-18 10:00:00", "隐患类别": "飞线充电",
           "隐患描述": "三楼住户飞线充电", "地址": "", "经度": f"{lon:.7f}", "纬度": f"{lat:.7f}",
           "隐患等级": "较大隐患", "整改期限": "2026-11-20", "整改状态": "未整改", "排查人": "李安全"}
    row.update(over)
    return row


def _csv(rows) -> str:
    lines = [",".join(COLUMNS)] + [",".join(str(r[c]) for c in COLUMNS) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def test_safety_files_gbk_csv_and_xlsx(engine, tmp_path):
    (g1, lon, lat), (g2, lon2, lat2) = grid_points(engine, 2)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a-gbk.csv").write_bytes(_csv([_row("S-1", lon, lat), _row("S-2", lon, lat, 隐患类别="外星人入侵"),
                                           _row("S-3", lon, lat, 排查时间="上周")]).encode("gbk"))
    (drop / "b-utf8.csv").write_bytes(_csv([_row("S-4", lon2, lat2, 整改状态="已销号")]).encode("utf-8-sig"))
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    ws.append([_row("S-5", lon2, lat2)[c] for c in COLUMNS[:-1]] + ["王巡查"])
    ws.append(["S-6", datetime(2026, 11, 18, 9, 0), "燃气隐患", "燃气表漏气", "", lon, lat, "重大隐患",
               datetime(2026, 11, 18), "整改中", "赵安全"])
    wb.save(drop / "c.xlsx")
    src = SafetySource(drop)
    stats = run_source(engine, src)
    assert stats.received == 6 and stats.quarantined == 2
    with engine.connect() as conn:
        rows = {r.source_key: r for r in conn.execute(text("SELECT * FROM event WHERE source='safety' "
                                                           "AND source_key LIKE 'S-%'"))}
    assert set(rows) == {"S-1", "S-4", "S-5", "S-6"}
    assert rows["S-1"].severity == 3 and rows["S-6"].severity == 4 and rows["S-6"].category_code == "1101"
    assert rows["S-4"].status == "closed" and rows["S-1"].area_id == g1
    # a deadline date means the end of that day in Shanghai (= 16:00 UTC)
    assert str(rows["S-1"].due_at).startswith("2026-11-20 16:00")
    # an unchanged folder is not read again; a changed file is
    assert run_source(engine, src, force=True).received == 0
    (drop / "b-utf8.csv").write_bytes(_csv([_row("S-4", lon2, lat2, 整改状态="已销号"),
                                            _row("S-7", lon2, lat2)]).encode("utf-8-sig"))
    assert run_source(engine, src, force=True).received == 2
    assert count(engine, "SELECT COUNT(*) FROM event WHERE source_key='S-7'") == 1


def test_open311_windows_are_at_most_90_days(engine, server):
    (_, lon, lat), = grid_points(engine, 1)
    now = datetime(2026, 11, 20, 4, 0)
    req = {"service_request_id": "O-1", "status": "closed", "status_notes": "已修复",
           "service_name": "路灯", "service_code": "streetlight", "description": "路灯不亮",
           "agency_responsible": "城管", "requested_datetime": "2026-11-01T09:00:00+08:00",
           "updated_datetime": "2026-11-02T09:00:00+08:00", "expected_datetime": "2026-11-04T09:00:00+08:00",
           "address": "某路", "lat": lat, "long": lon}
    server.add("/requests.json", json.dumps([req, dict(req, service_request_id="O-2", service_code="ufo")]))
    src = Open311Source(server.url, first_start=now - timedelta(days=200), clock=lambda: now)
    stats = run_source(engine, src, clock=lambda: now)
    windows = [(datetime.fromisoformat(p["start_date"]), datetime.fromisoformat(p["end_date"]))
               for _, p in server.requests]
    assert len(windows) == 3
    assert all(end - start <= timedelta(days=90) for start, end in windows)
    assert stats.quarantined == 3  # O-2 in each of the three windows (same fixture answer)
    with engine.connect() as conn:
        ev = conn.execute(text("SELECT * FROM event WHERE source_key='O-1'")).one()
    assert ev.status == "closed" and "已修复" in ev.description


def test_cross_source_duplicates_are_linked_and_counted_once(engine, server, tmp_path):
    from data_sources.cases import CasesSource

    # a micro-grid with no gas case of the demo world nearby that day (else D-1 is itself a duplicate)
    with engine.connect() as conn:  # (other tests may have pushed gas events into the world before this copy)
        def quiet(lon, lat):
            return conn.execute(text(
                "SELECT COUNT(*) FROM event WHERE category_code LIKE '11%' AND ABS(lon - :x) < 0.002 "
                "AND ABS(lat - :y) < 0.002 AND reported_at BETWEEN '2026-11-19' AND '2026-11-21'"),
                {"x": lon, "y": lat}).scalar() == 0
        gid, lon, lat = next(p for p in grid_points(engine, 400) if quiet(p[1], p[2]))

    near_lon = lon + 20 / 95_900  # ~20 m east
    server.add("/api/cases", json.dumps({"page": 1, "total_pages": 1, "items": [
        {"case_no": "D-1", "type_code": "AQ-0101", "status": "受理", "lng": lon, "lat": lat,
         "accept_time": "2026-11-20 09:00:00", "updated_at": "2026-11-20 09:00:00"}]}))
    run_source(engine, CasesSource(server.url))
    drop = tmp_path / "d"
    drop.mkdir()
    (drop / "x.csv").write_bytes(_csv([
        _row("D-2", near_lon, lat, 隐患类别="燃气泄漏", 排查时间="2026-11-20 11:00:00"),
        _row("D-3", lon + 80 / 95_900, lat, 隐患类别="燃气泄漏", 排查时间="2026-11-20 11:00:00")]).encode("gbk"))
    with engine.connect() as conn:
        before = compute_kpis(conn, "/510100/", "year", datetime(2026, 11, 20, 4, 0))
    run_source(engine, SafetySource(drop))
    with engine.connect() as conn:
        links = dict(conn.execute(text("SELECT source_key, duplicate_of_id FROM event "
                                       "WHERE source_key IN ('D-1','D-2','D-3')")).all())
        original = conn.execute(text("SELECT id FROM event WHERE source_key='D-1'")).scalar()
        after = compute_kpis(conn, "/510100/", "year", datetime(2026, 11, 20, 4, 0))
    assert links["D-2"] == original and links["D-3"] is None and links["D-1"] is None
    assert after.total == before.total + 1  # D-3 counts, D-2 is the same gas smell again
