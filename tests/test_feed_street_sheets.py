"""Street-office spreadsheets (街道台账): a folder or a URL, UTF-8 or GBK, incremental on 更新时间."""
from pathlib import Path

import pytest
from sqlalchemy import text

from data_sources.pipeline import run_source, source_states
from data_sources.registry import CONNECTORS, PULLED, FeedConfigError, build_sources
from data_sources.street_sheets import StreetSheetSource

from .feed_helpers import grid_points

FIXTURE = Path(__file__).with_name("fixtures") / "street_sheet.csv"
GOOD = {"JD-001", "JD-002", "JD-003"}


def sheet(engine) -> str:
    (_, lon1, lat1), (_, lon2, lat2) = grid_points(engine, 2)
    return FIXTURE.read_text(encoding="utf-8").format(lon1=f"{lon1:.7f}", lat1=f"{lat1:.7f}",
                                                      lon2=f"{lon2:.7f}", lat2=f"{lat2:.7f}")


def reasons(engine) -> dict:
    with engine.connect() as conn:
        return {r.source_key: r.reason for r in conn.execute(text(
            "SELECT source_key, reason FROM quarantine WHERE source='street_sheets'"))}


def stored(engine) -> dict:
    with engine.connect() as conn:
        return {r.source_key: r for r in conn.execute(text("SELECT * FROM event WHERE source='street_sheets'"))}


def test_a_sixth_feed_is_declared_like_the_others():
    assert CONNECTORS["street_sheets"] is StreetSheetSource and "street_sheets" in PULLED
    src, = build_sources({"street_sheets": {"folder": "/tmp/jd-sheets", "key": "编号", "cursor": "修改时间",
                                            "interval": 120}})
    assert (src.primary_key, src.cursor_field, src.interval_seconds) == ("编号", "修改时间", 120)
    with pytest.raises(FeedConfigError, match="url or folder"):
        build_sources({"street_sheets": {}})
    assert CONNECTORS["push"].cursor_field is None and not CONNECTORS["push"].pulled


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_folder_rows_in_bad_rows_quarantined_then_only_rows_after_the_cursor(engine, tmp_path, encoding):
    drop = tmp_path / "jd"
    drop.mkdir()
    (drop / "锦江街道.csv").write_bytes(sheet(engine).encode(encoding))
    src = StreetSheetSource(drop)
    stats = run_source(engine, src)
    assert (stats.received, stats.out, stats.quarantined) == (8, 3, 5)
    rows = stored(engine)
    assert set(rows) == GOOD
    assert rows["JD-001"].category_code == "0102" and rows["JD-001"].status == "discover"
    assert rows["JD-001"].area_id is not None and rows["JD-001"].reporter_name == "张网格"
    assert rows["JD-003"].category_code == "0502" and rows["JD-003"].status == "closed"
    why = reasons(engine)
    assert "未知事件类别" in why["JD-004"] and "更新时间" in why["JD-005"]
    assert "多于表头" in why["JD-006"] and "未知处理状态" in why["JD-007"]
    assert any("主键列 事件编号" in r for k, r in why.items() if k is None)
    assert source_states(engine)["street_sheets"].cursor == "2026-11-18 12:00:00"

    # Unchanged sheet: only the row whose 更新时间 cannot be read comes again (to quarantine, not lost).
    again = run_source(engine, src, force=True)
    assert (again.received, again.out) == (1, 0)

    # The office edits JD-002 and adds JD-008: only those two are after the cursor.
    text_ = sheet(engine).replace("2026-11-18 11:00,处理中", "2026-11-19 08:00,已办结") + \
        "JD-008,乱停车,,,某路,104.06,30.65,2026-11-19 09:00,2026-11-19 09:00,待处理,,,\n"
    (drop / "锦江街道.csv").write_bytes(text_.encode(encoding))
    third = run_source(engine, src, force=True)
    assert (third.received, third.out, third.inserted, third.updated) == (3, 2, 1, 1)
    assert stored(engine)["JD-002"].status == "closed"
    assert source_states(engine)["street_sheets"].cursor == "2026-11-19 09:00"


def test_url_is_asked_only_for_rows_after_the_cursor(engine, server):
    server.add("/exports/jd.csv", sheet(engine).encode("gbk"))
    src, = build_sources({"street_sheets": {"url": f"{server.url}/exports/jd.csv"}})
    assert run_source(engine, src).out == 3
    assert run_source(engine, src, force=True).out == 0
    (_, first), (_, second) = server.requests
    assert "since" not in first and second == {"since": "2026-11-18 12:00:00"}
    assert set(stored(engine)) == GOOD


def test_an_unreachable_sheet_is_a_feed_error(engine, server):
    server.add("/exports/gone.csv", "not here", status=404)
    run_source(engine, StreetSheetSource(f"{server.url}/exports/gone.csv"))
    assert "HTTP 404" in source_states(engine)["street_sheets"].last_error
