"""The benchmark suite's summary: targets judged from the results, PostgreSQL/SQLite ratios, the naive payload."""
from __future__ import annotations

import orjson

from bench.__main__ import summary_rows
from bench.citymap import naive_bytes
from bench.naive_app import micro_grids


def _ingest(feed: float, bulk: float, bulk_target: int) -> dict:
    return {"import_events": 200_000,
            "events_per_s": {"ingest new (normalise+locate+upsert, pipelined)": feed,
                             "ingest new, bulk import of a 200,000-record file": bulk},
            "targets": {"ingest new (normalise+locate+upsert, pipelined)": 10_000,
                        "ingest new, bulk import of a 200,000-record file": bulk_target}}


def _load(refresh_p95: float, errors: int = 0) -> dict:
    return {"refresh": {"n": 600, "p95_s": refresh_p95, "errors": errors},
            "dispatch": {"n": 0, "p95_s": 0.0, "errors": 0}, "first load": {"n": 0, "p95_s": 0.0, "errors": 0}}


def test_targets_are_judged_from_the_results_and_databases_compared():
    rows = summary_rows({"ingest": {"sqlite": _ingest(12_000, 12_500, 10_000),
                                    "postgresql": _ingest(24_000, 29_999, 30_000)},
                         "load": {"sqlite": _load(0.05), "postgresql": _load(0.04, errors=1)}})
    by = {r[1]: r for r in rows}
    assert by["new events/s, bulk import of a 200,000-record file, postgresql"][2:] == ["29,999", "≥ 30,000", "✗"]
    assert by["new events/s, bulk import of a 200,000-record file, sqlite"][4] == "✓"
    assert by["refresh p95 / errors, postgresql"][4] == "✗"      # fast, but one error
    assert by["PostgreSQL vs SQLite: ingest, feed path (events/s)"][2] == "2.00×"
    assert by["PostgreSQL vs SQLite: refresh p95 under load (ms)"][2] == "1.25×"   # SQLite's time ÷ PostgreSQL's
    assert not any("dispatch p95 under load" in r[1] for r in rows)       # no dispatches measured: no ratio


def test_naive_payload_is_what_the_naive_app_ships(world_engine):
    """On the test world (one sub-district) the naive app's GeoJSON is every micro-grid: the same bytes."""
    fc, _counts = micro_grids(world_engine)
    for feature in fc["features"]:
        feature["properties"]["open"] = 0
    assert naive_bytes(world_engine) == len(orjson.dumps(fc)) > 100_000
