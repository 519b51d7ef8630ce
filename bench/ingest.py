"""Feed ingest throughput: normalise + locate + upsert (events/s) on SQLite at street scale."""
from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np

from data_sources.base import RawRecord
from data_sources.cases import CasesSource
from data_sources.locate import locator_for
from data_sources.pipeline import ingest_records
from governance.timeutil import to_local, utcnow

from .common import print_table, seeded_engine, timer, write_results

TARGET = 10_000  # events/s on a 2-core machine (SQLite, street scale)
TARGETS = {"sqlite": TARGET, "postgresql": 30_000}  # PostgreSQL: the scale-out target of the bulk path


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


def run(n: int, batch: int, db: Path | None, engine=None) -> dict:
    """Measure each stage and the whole pipeline; return the results."""
    tmp = tempfile.mkdtemp()
    engine = engine or seeded_engine(db or Path(tmp) / "bench.sqlite3")
    source = CasesSource("http://unused")
    records = synthetic_cases(engine, n)
    locator = locator_for(engine)
    with timer() as t_norm:
        normalised = [source.normalise(r.payload) for r in records]
    with timer() as t_loc:
        locator.locate_many([e.lon for e in normalised], [e.lat for e in normalised])
    with timer() as t_new:
        for i in range(0, n, batch):
            ingest_records(engine, source, records[i:i + batch])
    with timer() as t_flush:  # the rollup groups the backfill queued (the scheduler does this every 10 s)
        from governance.rollups import flush

        with engine.begin() as conn:
            flush(conn)
    with timer() as t_again:
        for i in range(0, n, batch):
            ingest_records(engine, source, records[i:i + batch])
    rows = {
        "normalise": n / t_norm(), "locate (STRtree)": n / t_loc(),
        "ingest new (normalise+locate+upsert)": n / t_new(),
        "ingest again (idempotent re-run)": n / t_again(),
        "rollup flush of the new events (deferred)": n / t_flush(),
    }
    return {"events": n, "batch": batch, "dialect": engine.dialect.name, "events_per_s": rows,
            "target_events_per_s": TARGETS[engine.dialect.name]}


def main(argv=None) -> dict:
    """Command line: python -m bench.ingest [--events N] [--batch B] [--db PATH]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--db", type=Path, help="SQLite file to reuse (seeded if empty)")
    parser.add_argument("--databases", default="sqlite", help="comma-separated: sqlite,postgresql")
    args = parser.parse_args(argv)
    from .pg import bench_databases

    results = {}
    tmp = Path(tempfile.mkdtemp())
    with bench_databases(args.databases.split(","), args.db or tmp / "bench.sqlite3") as engines:
        for kind, engine in engines.items():
            result = results[kind] = run(args.events, args.batch, None, engine)
            target = TARGETS[kind]
            rows = [[stage, f"{rate:,.0f}", "✓" if "ingest new" not in stage or rate >= target else "✗"]
                    for stage, rate in result["events_per_s"].items()]
            print_table(f"Feed ingest on {result['dialect']}, {result['events']:,} events, batches of "
                        f"{result['batch']} (target ≥ {target:,}/s)", ["stage", "events/s", "target"], rows)
    print(f"results: {write_results('ingest', results)}")
    return results


if __name__ == "__main__":
    main()
