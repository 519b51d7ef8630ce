"""People registry import: real CSV (UTF-8, GBK) and Excel files with bad rows, on SQLite and PostgreSQL.

Every row is stored or quarantined; no clear ID number reaches the database or the logs; re-importing
the same file changes nothing; a later export closes (迁出) and updates without deleting.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from data_sources.people_import import import_people
from governance.people import groups as people
from governance.models import Area, Quarantine
from governance.models import Household, PeopleImport, Place, Resident

from .conftest import TEST_SECRET, WORLD_NOW

ROOT = Path(__file__).resolve().parent.parent


def make_id(first17: str) -> str:
    """A valid ID number, check character computed here (weights 2^(17-i) mod 11), not by the app."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return first17 + "10X98765432"[total % 11]


def wrong_check(number: str) -> str:
    """The same number with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


IDS = {k: make_id(f"510107{y}0{m}1{k}{k:03d}") for k, y, m in
       [(1, "1948", "3"), (2, "1990", "5"), (3, "1985", "7"), (4, "1950", "1"), (5, "1970", "2"), (6, "2012", "4"),
        (7, "1960", "8"), (8, "1999", "9")]}


def places(engine, n=3):
    """(community name, micro-grid name, id) of the first micro-grids of the world."""
    with engine.connect() as conn:
        micro = conn.execute(select(Area.id, Area.name, Area.path).where(Area.level == "micro_grid")
                             .order_by(Area.id).limit(n)).all()
        comm = dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())
    return [(comm[m.path.strip("/").split("/")[-3]], m.name, m.id) for m in micro]


def resident_rows(engine):
    """Header and rows of a residents export: 5 good rows, 1 unplaced, 3 bad (check digit, duplicate, phone)."""
    (c1, m1, _), (c2, m2, _), _ = places(engine)
    header = ["户编号", "姓名", "身份证号", "联系电话", "地址", "社区", "人口类型", "特殊人群", "状态"]
    rows = [
        ["T-H1", "王桂兰", IDS[1], "13912345678", f"{m1}501室", c1, "常住", "独居老人", "在册"],
        ["T-H2", "李强", IDS[2], "028-85551234", f"{c2}{m2}302室", "", "流动", "", ""],
        ["T-H2", "李敏", IDS[3], "", f"{c2}{m2}302室", "", "流动", "残疾人、低保/困难家庭", ""],
        ["T-H3", "赵大爷", IDS[4], "", "不存在的小区9栋1单元101室", "", "常住", "空巢老人", ""],
        ["T-H4", "张伟", IDS[5], "13800001111", f"{c1}{m1}601室", "", "常住", "", "迁出"],
        ["T-H4", "张小明", IDS[6].lower(), "", f"{c1}{m1}601室", "", "常住", "留守儿童", ""],
        ["T-H5", "刘错", wrong_check(IDS[7]), "13900000000", f"{c1}{m1}701室", "", "常住", "", ""],
        ["T-H1", "王桂兰", IDS[1], "13912345678", f"{m1}501室", c1, "常住", "独居老人", ""],
        ["T-H6", "陈号", IDS[8], "1234", f"{c1}{m1}801室", "", "常住", "", ""],
    ]
    return header, rows


def premises_rows(engine):
    """Header and rows of a premises export: 2 good, 1 bad date."""
    (c1, m1, _), _, (c3, m3, _) = places(engine)
    header = ["场所编号", "场所名称", "场所类型", "营业执照号", "最近消防检查", "地址", "社区", "负责人电话", "状态"]
    rows = [["P-1", "老妈蹄花", "餐饮", "92510107MA0000001X", "2026-05-01", f"{c1}{m1}底商1号", "", "13811112222", "营业"],
            ["P-2", "便民超市", "小超市", "92510107MA0000002X", "2026/1/15", f"{c3}{m3}底商2号", "", "", ""],
            ["P-3", "坏日期", "小超市", "", "去年", f"{c3}{m3}底商3号", "", "", ""]]
    return header, rows


def write_csv(path: Path, header, rows, encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(engine) -> dict:
    """Every registry row of the test's keys, as stored."""
    with engine.connect() as conn:
        return {"r": conn.execute(select(Resident).join(Household, Household.id == Resident.household_id)
                                  .where(Household.hh_key.like("T-%")).order_by(Resident.id)).all(),
                "h": conn.execute(select(Household).where(Household.hh_key.like("T-%")).order_by(Household.id)).all(),
                "p": conn.execute(select(Place).where(Place.place_key.like("P-%")).order_by(Place.id)).all(),
                "q": conn.execute(select(func.count()).select_from(Quarantine)
                                  .where(Quarantine.source == "people")).scalar()}


def assert_no_clear_ids(blob: bytes) -> None:
    for number in list(IDS.values()) + [wrong_check(IDS[7])]:
        for enc in ("utf-8", "utf-16-le"):
            assert number.encode(enc) not in blob and number.lower().encode(enc) not in blob
        assert number[:17].encode() not in blob  # not even without its check character


def database_bytes(engine) -> bytes:
    """The whole database as bytes: the SQLite file (and its WAL), or every PostgreSQL row as text."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        db = Path(engine.url.database)
        return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'")).scalars().all()
        return "\n".join(str(r[0]) for t in tables for r in conn.execute(text(f'SELECT t::text FROM "{t}" t'))).encode()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_csv_import_counts_every_row_and_reimport_changes_nothing(engine, tmp_path, encoding, capfd, caplog):
    header, rows = resident_rows(engine)
    f = write_csv(tmp_path / f"居民_{encoding}.csv", header, rows, encoding)
    s = import_people(engine, f, TEST_SECRET, now=WORLD_NOW)
    assert s.received == 9
    assert (s.inserted, s.closed, s.quarantined, s.unplaced) == (5, 1, 3, 1)
    assert s.inserted + s.updated + s.closed + s.unchanged + s.quarantined == s.received
    assert set(s.reasons) == {"身份证号校验位错误", "同一人在本文件中重复出现", "联系电话格式不正确"}
    key = people.id_key(TEST_SECRET)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Resident.id_hmac, Resident.status)).all())
        for k in (1, 2, 3, 4, 5, 6):
            assert people.id_hmac(IDS[k], key) in stored
        assert stored[people.id_hmac(IDS[5], key)] == "moved_out"
        assert people.id_hmac(IDS[7], key) not in stored and people.id_hmac(IDS[8], key) not in stored
        h3 = conn.execute(select(Household).where(Household.hh_key == "T-H3")).one()
        assert h3.unplaced and h3.area_path is None  # kept, flagged
        h1 = conn.execute(select(Household).where(Household.hh_key == "T-H1")).one()
        assert h1.area_id == places(engine)[0][2]  # building → micro-grid
        assert conn.execute(select(func.count()).select_from(Quarantine).where(Quarantine.source == "people")).scalar() == 3
        masked = conn.execute(select(Resident.id_masked).where(Resident.id_hmac == people.id_hmac(IDS[1], key))).scalar()
        assert masked == IDS[1][:6] + "********" + IDS[1][-4:]
        assert conn.execute(select(func.count()).select_from(PeopleImport)).scalar() == 1
    before = snapshot(engine)
    again = import_people(engine, f, TEST_SECRET, now=WORLD_NOW.replace(hour=9))
    assert (again.inserted, again.updated, again.closed, again.unchanged, again.quarantined) == (0, 0, 0, 6, 3)
    assert snapshot(engine) == before  # not even updated_at moved; the quarantine holds each bad row once
    out, err = capfd.readouterr()
    assert_no_clear_ids((out + err + caplog.text).encode())
    assert_no_clear_ids(database_bytes(engine))


def test_excel_import_places_and_later_changes(engine, tmp_path):
    from openpyxl import Workbook

    header, rows = resident_rows(engine)
    pheader, prows = premises_rows(engine)
    wb = Workbook()
    ws = wb.active
    ws.title = "居民"
    ws.append(header)
    for r in rows:
        ws.append(r)
    ws2 = wb.create_sheet("经营场所")
    ws2.append(pheader)
    for r in prows:
        ws2.append(r)
    ws3 = wb.create_sheet("出租房")
    ws3.append(["出租房编号", "地址", "房东电话", "租住人数"])
    ws3.append(["P-R1", f"{places(engine)[1][1]}302室", "13700000000", 3])
    f = tmp_path / "人口.xlsx"
    wb.save(f)
    s = import_people(engine, f, TEST_SECRET, now=WORLD_NOW)
    assert s.received == 13 and s.quarantined == 4
    assert s.by_kind["premises"]["inserted"] == 2 and s.by_kind["rental"]["inserted"] == 1
    with engine.connect() as conn:
        p2 = conn.execute(select(Place).where(Place.place_key == "P-2")).one()
        assert str(p2.fire_checked_on) == "2026-01-15" and p2.area_id == places(engine)[2][2]
    # the next month's export: 李强 moved out, 王桂兰 has a new phone, a shop closed
    rows[1][-1] = "迁出"
    rows[0][3] = "13912340000"
    prows[0][-1] = "停业"
    ws = wb["居民"]
    ws.delete_rows(2, ws.max_row)
    for r in rows:
        ws.append(r)
    ws2 = wb["经营场所"]
    ws2.delete_rows(2, ws2.max_row)
    for r in prows:
        ws2.append(r)
    wb.save(f)
    s2 = import_people(engine, f, TEST_SECRET, now=WORLD_NOW.replace(hour=8))
    assert (s2.updated, s2.closed, s2.inserted) == (1, 2, 0)
    key = people.id_key(TEST_SECRET)
    with engine.connect() as conn:
        gone = conn.execute(select(Resident).where(Resident.id_hmac == people.id_hmac(IDS[2], key))).one()
        assert gone.status == "moved_out" and gone.closed_at is not None  # closed, not deleted
        assert conn.execute(select(Place.closed_at).where(Place.place_key == "P-1")).scalar() is not None


def test_rollup_counts_follow_the_import(engine, tmp_path):
    from governance.people import people_stats

    with engine.connect() as conn:
        before = people_stats.totals(conn, "/")
    header, rows = resident_rows(engine)
    import_people(engine, write_csv(tmp_path / "r.csv", header, rows, "utf-8"), TEST_SECRET, now=WORLD_NOW)
    with engine.connect() as conn:
        after = people_stats.totals(conn, "/")
        # independent count: active residents of placed households
        n = conn.execute(text("SELECT COUNT(*) FROM resident r JOIN household h ON h.id = r.household_id "
                              "WHERE r.closed_at IS NULL AND h.area_path IS NOT NULL")).scalar()
    assert after["residents"] + after["floating"] == n
    # placed and active: 王桂兰, 李强, 李敏, 张小明 (赵大爷 unplaced, 张伟 moved out)
    assert after["residents"] + after["floating"] - before["residents"] - before["floating"] == 4
    assert after["group:elderly_alone"] - before["group:elderly_alone"] == 1
    assert after["households"] - before["households"] == 3  # T-H1, T-H2, T-H4 (T-H3 unplaced)


def test_bad_file_is_refused_in_chinese(engine, tmp_path):
    from data_sources.people_files import PeopleFileError

    f = tmp_path / "x.csv"
    f.write_text("甲,乙\n1,2\n", encoding="utf-8")
    with pytest.raises(PeopleFileError, match="无法识别表头"):
        import_people(engine, f, TEST_SECRET)


def test_cli_import_people_prints_summary_and_no_clear_id(engine, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("the CLI run reads the SQLite copy")
    header, rows = resident_rows(engine)
    f = write_csv(tmp_path / "居民.csv", header, rows, "gbk")
    env = {**os.environ, "COCKPIT_SECRET_KEY": TEST_SECRET}
    res = subprocess.run([sys.executable, "app.py", "import-people", str(f), "--database-url", str(engine.url)],
                         cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert res.returncode == 0, res.stderr.decode()
    err = res.stderr.decode()
    assert "新增 5" in err and "隔离 3" in err and "身份证号校验位错误 × 1" in err
    assert_no_clear_ids(res.stdout + res.stderr)
