"""KPI, trend and map-figure query latency at city scale (~10^5 micro-grids, 10^7 events on PostgreSQL).

The city-scale area tree comes from the demo world generator; the events are generated inside the
database (INSERT … SELECT over a series: the same counted fields the feeds write), then the rollups
are rebuilt, so the measured queries read exactly what a live deployment reads. Each query runs
`--reps` times on a warm database (no result cache: these are the misses a new data version causes);
the table prints p50/p95 per scope level next to the same KPIs computed from the events directly.

    python -m bench.kpis                         # PostgreSQL, 10^7 events (≈ 15–25 min on 2 cores)
    python -m bench.kpis --events 1000000 --databases sqlite,postgresql
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from .common import print_table, timer, write_results

TARGET_P95_MS = 100  # KPI queries on PostgreSQL at 10^7 events
CHUNK = 500_000

# One row per generated event: its micro-grid, category, source, report time and fate. Open events are
# mostly recent, older ones mostly closed (some late, some rated) or returned.
_PG_INSERT = """
INSERT INTO event (source, source_key, category_code, title, description, lon, lat, address, area_id,
                   area_path, outside_grid, severity, status, handling_level, reported_at, updated_at,
                   due_at, closed_at, satisfaction, is_drill, rework_count)
SELECT source, 'BULK-' || g, code, '批量生成事件', '', lon, lat, '', id, path, false, 1, status, lvl,
       reported_at, reported_at, reported_at + make_interval(hours => sla),
       CASE WHEN status = 'closed' THEN reported_at + make_interval(secs => r3 * sla * 4700) END,
       CASE WHEN status = 'closed' AND r3 < 0.35 THEN 1 + (r3 * 100)::int % 5 END, false, 0
FROM (
  SELECT s.*, CASE WHEN s.reported_at < CAST(:now AS timestamp) - interval '14 days'
                   THEN (CASE WHEN r2 < 0.93 THEN 'closed' WHEN r2 < 0.97 THEN 'returned' ELSE 'handle' END)
                   ELSE (CASE WHEN r2 < 0.5 THEN 'closed' WHEN r2 < 0.6 THEN 'collect'
                              WHEN r2 < 0.75 THEN 'assign' ELSE 'handle' END) END AS status
  FROM (
    SELECT g, (ARRAY['cases','safety','grid_events','open311','push'])[1 + (g * 13) % 5] AS source,
           CAST(:now AS timestamp) - make_interval(secs => random() * :days * 86400) AS reported_at,
           random() AS r2, random() AS r3, m.id, m.path, m.lon, m.lat, c.code, c.sla, c.lvl
    FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
    JOIN bench_mg m ON m.i = (g * 7919) % :n_mg
    JOIN bench_cat c ON c.i = (g * 31) % :n_cat
  ) s
) e
"""

_SQLITE_INSERT = """
WITH RECURSIVE series(g) AS (SELECT :a UNION ALL SELECT g + 1 FROM series WHERE g < :b)
INSERT INTO event (source, source_key, category_code, title, description, lon, lat, address, area_id,
                   area_path, outside_grid, severity, status, handling_level, reported_at, updated_at,
                   due_at, closed_at, satisfaction, is_drill, rework_count)
SELECT source, 'BULK-' || g, code, '批量生成事件', '', lon, lat, '', id, path, 0, 1, status, lvl,
       strftime('%Y-%m-%d %H:%M:%S', jd) || '.000000', strftime('%Y-%m-%d %H:%M:%S', jd) || '.000000',
       strftime('%Y-%m-%d %H:%M:%S', jd + sla / 24.0) || '.000000',
       CASE WHEN status = 'closed' THEN strftime('%Y-%m-%d %H:%M:%S', jd + r3 * sla * 4700 / 86400.0) || '.000000' END,
       CASE WHEN status = 'closed' AND r3 < 0.35 THEN 1 + CAST(r3 * 100 AS INTEGER) % 5 END, 0, 0
FROM (
  SELECT s.*, CASE WHEN jd < julianday(:now) - 14
                   THEN (CASE WHEN r2 < 0.93 THEN 'closed' WHEN r2 < 0.97 THEN 'returned' ELSE 'handle' END)
                   ELSE (CASE WHEN r2 < 0.5 THEN 'closed' WHEN r2 < 0.6 THEN 'collect'
                              WHEN r2 < 0.75 THEN 'assign' ELSE 'handle' END) END AS status
  FROM (
    SELECT g, CASE (g * 13) % 5 WHEN 0 THEN 'cases' WHEN 1 THEN 'safety' WHEN 2 THEN 'grid_events'
                                WHEN 3 THEN 'open311' ELSE 'push' END AS source,
           julianday(:now) - (abs(random()) % 1000000) / 1000000.0 * :days AS jd,
           (abs(random()) % 1000000) / 1000000.0 AS r2, (abs(random()) % 1000000) / 1000000.0 AS r3,
           m.id, m.path, m.lon, m.lat, c.code, c.sla, c.lvl
    FROM series JOIN bench_mg m ON m.i = (g * 7919) % :n_mg JOIN bench_cat c ON c.i = (g * 31) % :n_cat
  ) s
) e
"""


def generate_events(engine, n: int, now, days: int = 365) -> float:
    """Insert n events spread over the micro-grids and the last `days`; return events/s (on PostgreSQL
    the secondary indexes are dropped first and rebuilt after, as a bulk load would)."""
    from governance.core.progress import progress

    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for name in ("bench_mg", "bench_cat"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        conn.exec_driver_sql("CREATE TABLE bench_mg AS SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, path, "
                             "centroid_lon AS lon, centroid_lat AS lat FROM area WHERE level = 'micro_grid'")
        conn.exec_driver_sql("CREATE TABLE bench_cat AS SELECT row_number() OVER (ORDER BY code) - 1 AS i, code, "
                             "CAST(sla_hours AS INTEGER) AS sla, level AS lvl FROM category WHERE parent_code IS NOT NULL")
        n_mg = conn.execute(text("SELECT COUNT(*) FROM bench_mg")).scalar()
        n_cat = conn.execute(text("SELECT COUNT(*) FROM bench_cat")).scalar()
        first = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM event")).scalar() + 1
    sql = text(_PG_INSERT if pg else _SQLITE_INSERT)
    started = time.perf_counter()
    indexes = []
    if pg:  # a bulk load: build the secondary indexes once afterwards instead of row by row
        with engine.begin() as conn:
            indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'event' "
                                        "AND indexname NOT IN ('event_pkey', 'uq_event_source_key')")).all()
            for name, _ in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
    with progress(total=n, desc="生成事件", unit="件", unit_scale=True) as bar:
        for a in range(first, first + n, CHUNK):
            b = min(a + CHUNK, first + n) - 1
            with engine.begin() as conn:
                conn.execute(sql, {"a": a, "b": b, "now": now.isoformat(" "), "days": days,
                                   "n_mg": n_mg, "n_cat": n_cat})
            bar.update(b - a + 1)
    for _name, definition in progress(iterable=indexes, desc="重建索引", unit="个"):
        with engine.begin() as conn:
            conn.exec_driver_sql(definition)
    rate = n / (time.perf_counter() - started)
    with engine.begin() as conn:
        for name in ("bench_mg", "bench_cat"):
            conn.exec_driver_sql(f"DROP TABLE {name}")
    return rate


def _sample(fn, reps: int) -> tuple[float, float]:
    times = []
    for _ in range(reps):
        with timer() as t:
            fn()
        times.append(t() * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)]


def measure(engine, now, reps: int) -> list[dict]:
    """p50/p95 of every query the cockpit runs for a new data version, per scope level."""
    from governance.figures import kpis
    from governance.figures import rollups
    from governance.figures import trends
    from governance.reports.area_stats import child_figures
    from governance.models import CHILD_LEVEL
    from governance.alerts.warnings import load_rules

    rules = load_rules()
    with engine.connect() as conn:
        scopes = {}
        for level in ("city", "district", "subdistrict", "community", "general_grid"):
            scopes[level] = conn.execute(text(
                "SELECT a.path FROM area a WHERE a.level = :lv AND EXISTS (SELECT 1 FROM event e WHERE "
                "e.area_path >= a.path AND e.area_path < substr(a.path, 1, length(a.path) - 1) || '0') "
                "ORDER BY a.path LIMIT 1"), {"lv": level}).scalar()
    with engine.begin() as conn:
        rollups.flush(conn)
    out = []
    with engine.connect() as conn:
        for level, path in scopes.items():
            queries = {
                "KPI 本年": lambda: kpis.compute_kpis(conn, path, "year", now),
                "KPI 本月": lambda: kpis.compute_kpis(conn, path, "month", now),
                "KPI 今日": lambda: kpis.compute_kpis(conn, path, "today", now),
                "办结层级 本年": lambda: kpis.closed_by_level(conn, path, "year", now),
                "趋势 30 天": lambda: trends.daily_new_closed(conn, path, now),
                "类别 本月": lambda: trends.category_breakdown(conn, path, "month", now),
                "24 小时 90 天": lambda: trends.hourly_rhythm(conn, path, now),
            }
            if level in ("city", "district", "subdistrict"):
                queries["地图子区域 本月"] = lambda: child_figures(conn, path, CHILD_LEVEL[level], "month", now, rules,
                                                            warnings=_NoWarnings())
            for name, fn in queries.items():
                p50, p95 = _sample(fn, reps)
                out.append({"level": level, "query": name, "p50_ms": p50, "p95_ms": p95})
            if level in ("city", "district"):  # the same KPIs straight from the events, for the ratio
                p50, p95 = _sample(lambda: kpis.kpis_from_events(conn, path, "year", now), max(2, reps // 10))
                out.append({"level": level, "query": "KPI 本年（直接扫描事件）", "p50_ms": p50, "p95_ms": p95})
    return out


class _NoWarnings:
    """Stands in for a warning evaluation (measured separately): no grid has a colour."""

    grids: dict = {}

    def rollup(self, segments, rules):
        return {}


def run(kind: str, engine, n_events: int, reps: int) -> dict:
    """Seed a city-scale world with n_events on one database and measure it (an already seeded
    database, e.g. one kept with --keep, is measured as it is)."""
    from demo_world.seed import seed_world
    from governance.figures import rollups
    from governance.core.db import is_seeded, migrate
    from governance.events.queries import world_info
    from governance.core.timeutil import utcnow

    migrate(engine)
    if is_seeded(engine):
        with engine.connect() as conn:
            from datetime import datetime
            now = datetime.fromisoformat(world_info(conn)["generated_at"])
            events = conn.execute(text("SELECT COUNT(*) FROM event")).scalar()
            rows = conn.execute(text("SELECT COUNT(*) FROM scope_rollup")).scalar()
            grids = conn.execute(text("SELECT COUNT(*) FROM area WHERE level = 'micro_grid'")).scalar()
        return {"database": kind, "events": events, "micro_grids": grids, "seed_s": 0.0,
                "generate_events_per_s": 0.0, "rollup_rebuild_s": 0.0, "scope_rollup_rows": rows,
                "queries": measure(engine, now, reps)}
    now = utcnow()
    with timer() as t_seed:
        summary = seed_world(engine, scale="city", seed=7, now=now, volume=0.002)
    rate = generate_events(engine, n_events, now)
    with timer() as t_rebuild:
        with engine.begin() as conn:
            rollups.rebuild(conn)
    if kind == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        events = conn.execute(text("SELECT COUNT(*) FROM event")).scalar()
        rollup_rows = conn.execute(text("SELECT COUNT(*) FROM scope_rollup")).scalar()
    rows = measure(engine, now, reps)
    return {"database": kind, "events": events, "micro_grids": summary["micro_grids"], "seed_s": t_seed(),
            "generate_events_per_s": rate, "rollup_rebuild_s": t_rebuild(), "scope_rollup_rows": rollup_rows,
            "queries": rows}


def main(argv=None) -> dict:
    """Run the city-scale KPI benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="postgresql")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--sqlite-events", type=int, default=1_000_000,
                        help="events on SQLite (the embedded default serves a sub-district; city scale is PostgreSQL's)")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--url", help="measure this already seeded database instead (any SQLAlchemy URL)")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL server running and print its URL")
    args = parser.parse_args(argv)
    from governance.core.db import make_engine

    from devservers.postgres import PgServer

    results = {}
    for kind in ([] if args.url else args.databases.split(",")):
        server = None
        tmp = tempfile.TemporaryDirectory(prefix="gridcockpit-kpis-")
        try:
            if kind == "postgresql":
                server = PgServer()
                server.create_database("kpis").dispose()
                engine = make_engine(server.url("kpis"))
            else:
                engine = make_engine(f"sqlite:///{Path(tmp.name) / 'kpis.sqlite3'}")
            results[kind] = run(kind, engine, args.sqlite_events if kind == "sqlite" else args.events, args.reps)
            engine.dispose()
        finally:
            if server is not None and not args.keep:
                server.stop()
            elif server is not None:
                print(f"kept: {server.url('kpis')} (data in {server.data}; stop it with pg_ctl -D … stop)")
            tmp.cleanup()
    if args.url:
        engine = make_engine(args.url)
        results[engine.dialect.name] = run(engine.dialect.name, engine, args.events, args.reps)
    for kind, r in results.items():
        print(f"\n{kind}: {r['events']:,} events, {r['micro_grids']:,} micro-grids; area tree seeded in "
              f"{r['seed_s']:.0f} s, events generated at {r['generate_events_per_s']:,.0f}/s, rollups rebuilt "
              f"in {r['rollup_rebuild_s']:.0f} s ({r['scope_rollup_rows']:,} scope rows)")
        print_table(f"Query latency on {kind} (ms; target p95 ≤ {TARGET_P95_MS} ms on PostgreSQL at 10^7 events)",
                    ["scope", "query", "p50", "p95", "target"],
                    [[q["level"], q["query"], f"{q['p50_ms']:.1f}", f"{q['p95_ms']:.1f}",
                      ("✓" if q["p95_ms"] <= TARGET_P95_MS else "✗") if q["query"].startswith("KPI ")
                      and "直接" not in q["query"] else ""] for q in r["queries"]])
    write_results("kpis", {"args": vars(args), "results": results})
    return results


if __name__ == "__main__":
    main()
