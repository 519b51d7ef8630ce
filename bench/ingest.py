"""Feed ingest throughput (events/s) at street scale: normalise, locate, and new events through the
whole pipeline (pipelined and one batch at a time) and through the database stage alone, on SQLite
and PostgreSQL; with the CPU each costs per event here and on the PostgreSQL server."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import deque
from datetime import timedelta
from pathlib import Path

import numpy as np
import orjson

from data_sources.base import Page, RawRecord, raw_text_of
from data_sources.cases import CasesSource
from data_sources.locate import locator_for
from data_sources.pipeline import ingest_pages, ingest_records, prepare_batch, records_gc, store_batch
from data_sources.scheduler import flush_rollups
from governance.figures.rollups import catch_up as catch_up_rollups
from governance.core.timeutil import to_local, utcnow

from .common import print_table, seeded_engine, timer, write_results

TARGET = 10_000  # new events/s through a feed's pipeline on a 2-core machine (the federation issue)
BULK_TARGETS = {"sqlite": TARGET, "postgresql": 30_000}  # the bulk path: PostgreSQL's is the scale-out target


def synthetic_cases(engine, n: int, seed: int = 1, prefix: str = "BENCH",
                    days: int = 365) -> list[RawRecord]:
    """n citizen-case records over `days`, oldest first (a backfill replay), at grid points."""
    rng = np.random.default_rng(seed)
    loc = locator_for(engine)
    pts = [g.representative_point() for g in loc.geoms]
    codes = ["ZS-0301", "ZS-0302", "WY-0101", "CG-0202", "HJ-0101", "SZ-0101"]
    start = utcnow() - timedelta(days=days)
    offsets = np.sort(rng.integers(0, days * 86400, n))
    records = []
    for i in range(n):
        p = pts[int(rng.integers(len(pts)))]
        t = to_local(start + timedelta(seconds=int(offsets[i])))
        rec = {"case_no": f"{prefix}-{i:07d}", "channel": "12345", "type_code": codes[i % len(codes)],
               "title": "群众诉求", "content": "居民反映问题，请核实处理。", "address": "",
               "lng": p.x + rng.normal(0, 2e-5), "lat": p.y + rng.normal(0, 2e-5), "status": "受理",
               "accept_time": t.strftime("%Y-%m-%d %H:%M:%S"), "updated_at": t.isoformat(),
               "citizen": {"name": "张先生", "phone": "19900000000"}}
        records.append(RawRecord(rec, "", rec["case_no"]))
    return records


def _measure(engine, work) -> dict:
    """Wall seconds of `work()`, and the CPU seconds it cost this process and the database server."""
    server_cpu = getattr(engine, "server_cpu", lambda: None)
    cpu0, srv0 = _own_cpu(), server_cpu()
    with timer() as wall:
        work()
    srv1 = server_cpu()
    return {"wall": wall(), "client_cpu": _own_cpu() - cpu0,
            "server_cpu": None if srv0 is None or srv1 is None else srv1 - srv0}


_IMPORT = """
import json, sys, time
from bench.ingest import _own_cpu
from data_sources.bulk_import import import_file
url, path, workers, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cpu0, t0 = _own_cpu(), time.perf_counter()
import_file(url, "cases", path, workers=workers, batch=batch, show_progress=False, catch_up=False)
print(json.dumps({"wall": time.perf_counter() - t0, "client_cpu": _own_cpu() - cpu0}))
"""


def _measure_import(engine, url: str, export: Path, workers: int, batch: int) -> dict:
    """`_measure` of a bulk import run as the command runs it, in a process of its own (this one
    holds the other stages' records, which forked workers would inherit): its wall and CPU
    seconds are the ones that process measured around `import_file`."""
    inside = {}

    def work():
        done = subprocess.run([sys.executable, "-c", _IMPORT, url, str(export), str(workers), str(batch)],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        if done.returncode != 0:
            raise RuntimeError(f"bulk import failed: {done.stderr[-2000:]}")
        inside.update(json.loads(done.stdout.splitlines()[-1]))
    return {**_measure(engine, work), **inside}


def _own_cpu() -> float:
    """CPU seconds of this process and of its ended children (an import's worker processes)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _copies(engine, k: int) -> list:
    """Engines on k copies of this (seeded, not yet written) database, next to it."""
    from governance.core.db import make_engine

    engine.dispose()
    out = []
    if engine.dialect.name == "sqlite":
        import shutil
        import sqlite3

        src = Path(engine.url.database)
        with sqlite3.connect(src) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for i in range(k):
            dst = src.with_name(f"{src.stem}-copy{i}{src.suffix}")
            shutil.copy(src, dst)
            out.append(make_engine(f"sqlite:///{dst}"))
        return out
    from sqlalchemy import create_engine

    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for i in range(k):
            name = f"{engine.url.database}_copy{i}"
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{engine.url.database}"')
            copy = make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
            if hasattr(engine, "server_cpu"):
                copy.server_cpu = engine.server_cpu
            out.append(copy)
    admin.dispose()
    return out


def run(n: int, batch: int, db: Path | None, engine=None, import_n: int = 200_000, import_runs: int = 3) -> dict:
    """Measure each stage and four ways of ingesting new events; return the results.

    New events (a chronological backfill of n cases) go in three ways, each into its own copy of
    the seeded world: the pipelined feed path (`ingest_pages`, what `run_source` does: on
    PostgreSQL the next page is normalised and located while the current one is stored), one
    batch at a time (`ingest_records`), and the database stage alone (batches normalised and
    located before the clock starts). The fourth is the bulk import command's path, from a file
    of `import_n` other cases (a backfill is a large file: the workers' start is part of it),
    `import_runs` times, each into a fresh copy: the row is the median run (this machine's speed
    varies from run to run), and every run's rate is kept in the results.
    """
    tmp = tempfile.mkdtemp()
    engine = engine or seeded_engine(db or Path(tmp) / "bench.sqlite3")
    one_by_one, db_only, *imports = _copies(engine, 2 + import_runs)
    source = CasesSource("http://unused")
    records = synthetic_cases(engine, n)
    locator = locator_for(engine)
    with timer() as t_norm:
        normalised = [source.normalise(r.payload) for r in records]
    with timer() as t_loc:
        locator.locate_many([e.lon for e in normalised], [e.lat for e in normalised])

    def batches(recs):  # each record's text is taken as a connector takes it, inside the clock
        return (Page([RawRecord(r.payload, raw_text_of(r.payload), r.key_hint) for r in recs[i:i + batch]], None)
                for i in range(0, n, batch))

    stages, how = {}, {}

    def scheduler_rollups():  # the scheduler's job after the catch-up: flush the queue, or rebuild
        how["feed"] = flush_rollups(engine)[0]
    with records_gc():  # as the scheduler process runs feeds (`python app.py scheduler`)
        stages["ingest new (normalise+locate+upsert, pipelined)"] = _measure(
            engine, lambda: deque(ingest_pages(engine, source, batches(records)), maxlen=0))
        stages["rollups after the feed catch-up"] = _measure(engine, scheduler_rollups)
        locator_for(one_by_one)
        stages["ingest new, one batch at a time"] = _measure(
            one_by_one, lambda: [ingest_records(one_by_one, source, p.records) for p in batches(records)])
        prepared = [prepare_batch(db_only, source, p.records) for p in batches(records)]
        stages["ingest new, database stage alone (upsert)"] = _measure(
            db_only, lambda: [store_batch(db_only, source, p, utcnow(), None) for p in prepared])
        stages["ingest again (idempotent re-run)"] = _measure(
            engine, lambda: [ingest_records(engine, source, p.records) for p in batches(records)])
    export = Path(tmp) / "cases-export.jsonl"  # what a backfill starts from: the feed's own records
    export.write_bytes(b"".join(orjson.dumps(r.payload) + b"\n" for r in
                                synthetic_cases(engine, import_n, seed=2, prefix="IMPORT")))
    workers = 1 if engine.dialect.name == "sqlite" else 2
    runs = []
    for imported in imports:
        imported.dispose()
        runs.append(_measure_import(imported, imported.url.render_as_string(hide_password=False), export,
                                    workers, batch))
    median = sorted(runs, key=lambda m: m["wall"])[len(runs) // 2]
    imported = imports[runs.index(median)]
    bulk = (f"ingest new, bulk import of a {import_n:,}-record file ({workers} process{'es' if workers > 1 else ''}"
            f"{f', median of {len(runs)}' if len(runs) > 1 else ''})")
    stages[bulk] = median

    def catch_up():  # what the import command does at the end: flush the queue, or rebuild
        with imported.begin() as conn:
            how["import"] = catch_up_rollups(conn)[0]
    stages["rollups after the import"] = _measure(imported, catch_up)
    for copy in (one_by_one, db_only, *imports):
        copy.dispose()
        if copy.dialect.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(copy.url.database + suffix).unlink(missing_ok=True)
    flush_rollups(engine)
    stages[f"rollups after the feed catch-up ({how['feed']})"] = stages.pop("rollups after the feed catch-up")
    stages[f"rollups after the import ({how['import']})"] = stages.pop("rollups after the import")
    count = {stage: import_n if "import" in stage else n for stage in stages}
    rows = {"normalise": n / t_norm(), "locate (STRtree)": n / t_loc(),
            **{stage: count[stage] / m["wall"] for stage, m in stages.items()}}
    cpu = {stage: {"client_us": 1e6 * m["client_cpu"] / count[stage],
                   "server_us": None if m["server_cpu"] is None else 1e6 * m["server_cpu"] / count[stage]}
           for stage, m in stages.items()}
    targets = {stage: (BULK_TARGETS[engine.dialect.name] if stage == bulk else TARGET)
               for stage in rows if stage.startswith("ingest new")}
    return {"events": n, "import_events": import_n, "batch": batch, "dialect": engine.dialect.name,
            "events_per_s": rows, "cpu_per_event": cpu, "targets": targets,
            "import_runs_events_per_s": [import_n / m["wall"] for m in runs]}


def main(argv=None) -> dict:
    """Command line: python -m bench.ingest [--events N] [--batch B] [--db PATH]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--import-events", type=int, default=200_000, help="records in the bulk import's file")
    parser.add_argument("--import-runs", type=int, default=3, help="bulk imports to take the median of")
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--db", type=Path, help="SQLite file to reuse (seeded if empty)")
    parser.add_argument("--databases", default="sqlite", help="comma-separated: sqlite,postgresql")
    args = parser.parse_args(argv)
    from .pg import bench_databases

    results = {}
    tmp = Path(tempfile.mkdtemp())
    with bench_databases(args.databases.split(","), args.db or tmp / "bench.sqlite3") as engines:
        for kind, engine in engines.items():
            result = results[kind] = run(args.events, args.batch, None, engine, args.import_events, args.import_runs)
            rows = []
            for stage, rate in result["events_per_s"].items():
                cpu = result["cpu_per_event"].get(stage, {})
                target = result["targets"].get(stage)
                rows.append([stage, f"{rate:,.0f}", _us(cpu.get("client_us")), _us(cpu.get("server_us")),
                             "" if target is None else f"≥ {target:,}", "" if target is None else
                             "✓" if rate >= target else "✗"])
            imports = ", ".join(f"{r:,.0f}" for r in result["import_runs_events_per_s"])
            print_table(f"Feed ingest on {result['dialect']}, {result['events']:,} events (the import: "
                        f"{result['import_events']:,}, runs at {imports}/s), batches of {result['batch']}",
                        ["stage", "events/s", "CPU µs/event here", "server", "target", ""], rows)
    print(f"results: {write_results('ingest', results)}")
    return results


def _us(value) -> str:
    return "" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
