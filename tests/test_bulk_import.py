"""Bulk import of a feed export: every record imported, updated in file order or quarantined with its
reason, through parallel workers, with rollups current at the end; and the command line."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from data_sources.bulk_import import ImportFileError, _key, import_file, leading_key_reader, read_records, worker_of
from governance.core.timeutil import to_local

from .conftest import WORLD_NOW
from .feed_helpers import count, grid_points, world_copy
from .test_rollups import from_scratch, scope_from_scratch, scope_stored, stored


def _case(i: int, point, at, status="受理", **extra) -> dict:
    _, lon, lat = point
    stamp = to_local(at).strftime("%Y-%m-%d %H:%M:%S")
    return {"case_no": f"IMP-{i:05d}", "channel": "12345", "type_code": ["ZS-0301", "WY-0101", "CG-0202"][i % 3],
            "title": "群众诉求", "content": f"第 {i} 件：<script>alert(1)</script>", "lng": lon, "lat": lat,
            "status": status, "accept_time": stamp, "updated_at": to_local(at).isoformat(), **extra}


def _export(tmp_path, engine, n=900):
    """A JSON Lines export: n cases over 60 days, one malformed line, one later record closing case 7."""
    points = grid_points(engine, 40)
    start = WORLD_NOW - timedelta(days=60)
    cases = [_case(i, points[i % len(points)], start + timedelta(minutes=97 * i)) for i in range(n)]
    closing = _case(7, points[7], start + timedelta(minutes=97 * 7), status="办结",
                    updated_at=to_local(WORLD_NOW - timedelta(days=1)).isoformat(), satisfaction="满意")
    path = tmp_path / "cases-2025.jsonl"
    lines = [orjson.dumps(c) for c in cases[:400]] + [b"{\"case_no\": \"IMP-BAD\", oops", b""] \
        + [orjson.dumps(c) for c in cases[400:]] + [orjson.dumps(closing)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, cases


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_import_runs_every_record_through_the_feed_path_in_parallel(world_engine, tmp_path, start_method):
    engine = world_copy(world_engine, tmp_path)
    if engine.dialect.name == "sqlite" and start_method == "spawn":
        pytest.skip("SQLite imports in one process: there is no worker to start")
    path, cases = _export(tmp_path, engine)
    before = count(engine, "SELECT COUNT(*) FROM event")
    url = engine.url.render_as_string(hide_password=False)
    result = import_file(url, "cases", path, workers=2, batch=128, show_progress=False, start_method=start_method)

    s = result.stats
    assert (s.received, s.inserted, s.updated, s.quarantined) == (len(cases) + 2, len(cases), 1, 1)
    assert result.workers == (2 if engine.dialect.name == "postgresql" else 1)
    assert count(engine, "SELECT COUNT(*) FROM event") == before + len(cases)
    with engine.connect() as conn:
        status, satisfaction = conn.execute(text(
            "SELECT status, satisfaction FROM event WHERE source='cases' AND source_key='IMP-00007'")).one()
        reason, raw = conn.execute(text("SELECT reason, raw FROM quarantine WHERE raw LIKE '%IMP-BAD%'")).one()
        no_intake = conn.execute(text(
            "SELECT COUNT(*) FROM event e WHERE e.source_key LIKE 'IMP-%' AND NOT EXISTS "
            "(SELECT 1 FROM intake i WHERE i.id = e.intake_id AND i.actor LIKE '批量导入%')")).scalar()
        text_kept = conn.execute(text(
            "SELECT description FROM event WHERE source_key='IMP-00003'")).scalar()
    assert (status, satisfaction) == ("closed", 5)  # the later record of the key was applied after it
    assert "记录不是对象" in reason and raw == '{"case_no": "IMP-BAD", oops'
    assert no_intake == 0
    assert text_kept == "第 3 件：<script>alert(1)</script>"  # stored as sent; escaped where shown
    # the rollups took the import in: nothing left queued, and equal to a count from scratch
    assert count(engine, "SELECT COUNT(*) FROM rollup_dirty") == 0
    with engine.connect() as conn:
        assert stored(conn) == from_scratch(conn)
        assert scope_stored(conn) == {k: v for k, v in scope_from_scratch(conn).items() if any(v)}


def test_records_of_one_key_always_go_to_one_worker():
    keys = [f"C-{i}" for i in range(2000)]
    # every worker process decides alone: the split must not depend on Python's per-process hash salt
    other = subprocess.run([sys.executable, "-c", "import json; from data_sources.bulk_import import worker_of; "
                            "keys = [f'C-{i}' for i in range(2000)]; "
                            "print(json.dumps([[worker_of(k, w) for k in keys] for w in (2, 3, 8)]))"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert other.returncode == 0, other.stderr
    for workers, in_other_process in zip((2, 3, 8), orjson.loads(other.stdout)):
        shares = [worker_of(k, workers) for k in keys]
        assert shares == in_other_process
        assert set(shares) == set(range(workers)) and min(shares.count(w) for w in range(workers)) > 100
    assert worker_of(None, 4) == 0


TRICKY_LINES = [  # lines whose key a quick read must not guess wrong (then the line is parsed)
    b'{"citizen": {"case_no": "K-1"}, "n": -1}',  # only a nested key: the record has none
    b'{"case_no": "K-2", "case_no": "K-5", "n": -2}',  # a duplicate member: a parser takes the last
    b'{"case_no": "K-\\u0033", "n": -3}',  # an escape in the key
    b'{"case_no": 7, "n": -4}',  # a number
    b'{"kind": "case_no", "case_no": "K-6", "n": -5}',  # the name as a value first
    b'{ "case_no" :"K-8","note":"\\u4e2d", "case\\u005fno": "K-11", "n": -6}',  # an escaped duplicate (another share's key)
    b'{"case_no": "K-10", oops',  # malformed, with a readable key
    b"not json",
]


@pytest.mark.parametrize("suffix", ["jsonl", "json"])
def test_each_worker_reads_exactly_its_share_in_file_order(tmp_path, suffix):
    items = [{"case_no": f"K-{i % 37}", "n": i} for i in range(300)]  # keys repeat: later records update
    path = tmp_path / f"export.{suffix}"
    if suffix == "jsonl":
        lines = [orjson.dumps(item) for item in items]
        path.write_bytes(b"\n".join(lines[:100] + TRICKY_LINES + [b""] + lines[100:]) + b"\n")
    else:
        path.write_bytes(orjson.dumps(items))
    whole = list(read_records(path, "case_no"))
    shares = [list(read_records(path, "case_no", w, 3)) for w in range(3)]
    assert sorted(r.raw_text for share in shares for r in share) == sorted(r.raw_text for r in whole)
    assert len(whole) == len(items) + (len(TRICKY_LINES) if suffix == "jsonl" else 0)
    for w, share in enumerate(shares):
        assert all(worker_of(r.key_hint, 3) == w for r in share if isinstance(r.payload, dict))
        in_file_order = [r for r in whole if isinstance(r.payload, dict) and worker_of(r.key_hint, 3) == w]
        assert [(r.payload, r.raw_text) for r in share if isinstance(r.payload, dict)] == \
            [(r.payload, r.raw_text) for r in in_file_order]
    assert min(len(share) for share in shares) > 50
    if suffix == "jsonl":  # malformed lines are kept once each: by the share of a key read before the error, or 0
        malformed = {r.raw_text: w for w, share in enumerate(shares) for r in share if not isinstance(r.payload, dict)}
        assert malformed == {'{"case_no": "K-10", oops': worker_of("K-10", 3), "not json": 0}


json_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | json_text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
                           max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["case_no", "CASE_NO", "citizen", "n", "x"]), json_values), max_size=5),
       st.booleans(), st.booleans())
def test_a_quickly_read_key_is_the_parsed_key(members, escape, spaced):
    sep = (", ", ": ") if spaced else (",", ":")
    line = ("{" + sep[0].join(orjson.dumps(k).decode() + sep[1] + orjson.dumps(v).decode() for k, v in members)
            + "}").encode()
    if escape:  # the last member named case_no spelt with an escape (a parser still takes it)
        head, name, tail = line.rpartition(b'"case_no"')
        line = head + (b'"case\\u005fno"' if name else b"") + tail
    quick = leading_key_reader("case_no")(line)
    if quick is not None:
        assert quick == _key(orjson.loads(line), "case_no")
    if members and members[0][0] == "case_no" and isinstance(members[0][1], str) and not escape \
            and line.count(b'"case_no"') == 1 and b"\\" not in line:
        assert quick == members[0][1]  # and it does read the common line


def test_collector_tuning_is_undone_and_workers_fork_only_without_threads():
    import gc
    import threading

    from data_sources.bulk_import import _start_method
    from data_sources.pipeline import records_gc
    from governance.core.progress import progress

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with records_gc(young=12_345):
        assert gc.get_threshold()[0] == 12_345 and gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with progress(total=3, disable=False) as bar:  # our bars leave no monitor thread behind
        bar.update(3)
    assert not [t for t in threading.enumerate() if t.name == "tqdm_monitor"]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert _start_method() == "spawn"
    finally:
        stop.set()
        other.join()
    if threading.active_count() == 1:
        assert _start_method() == "fork"


def test_a_json_array_file_and_unreadable_files(tmp_path):
    array = tmp_path / "export.json"
    array.write_bytes(b'  [{"case_no": "A-1", "x": 1}, {"case_no": 2}, "text"]')
    records = list(read_records(array, "case_no"))
    assert [(r.key_hint, r.payload) for r in records] == [("A-1", {"case_no": "A-1", "x": 1}),
                                                         ("2", {"case_no": 2}), (None, "text")]
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'[{"case_no": "A-1"')
    with pytest.raises(ImportFileError, match="broken.json"):
        list(read_records(broken, "case_no"))
    with pytest.raises(ImportFileError, match="no such file"):
        import_file("sqlite://", "cases", tmp_path / "missing.jsonl", show_progress=False)
    with pytest.raises(ValueError, match="unknown source"):
        import_file("sqlite://", "nonsense", array, show_progress=False)


def test_command_line_import(world_engine, tmp_path):
    engine = world_copy(world_engine, tmp_path)
    path, cases = _export(tmp_path, engine, n=50)
    url = engine.url.render_as_string(hide_password=False)
    done = subprocess.run([sys.executable, "app.py", "import", "cases", "--file", str(path), "--database-url", url],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "新增 50" in done.stderr and "隔离 1" in done.stderr
    assert count(engine, "SELECT COUNT(*) FROM event WHERE source_key LIKE 'IMP-%'") == 50
    missing = subprocess.run([sys.executable, "app.py", "import", "cases", "--database-url", url],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "--file" in missing.stderr
