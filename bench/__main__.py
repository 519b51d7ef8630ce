"""Run every benchmark, then print one table of the targets: python -m bench [--only NAME,…] [--quick].

Each benchmark prints its own tables and writes bench/results/<name>.json; this summary is written to
bench/results/summary.json. A full run takes about half an hour on 2 cores (the city-scale
worlds are seeded on the way); --quick uses fewer events, runs and seconds to check the suite works.
"""
from __future__ import annotations

import argparse
import time

from . import alarms, briefs, citymap, ingest, kpis, load, render
from .common import print_table, write_results

ORDER = ("ingest", "kpis", "render", "citymap", "load", "briefs", "alarms")


def _args(quick: bool) -> dict[str, list[str]]:
    """Each benchmark's arguments: both databases everywhere, at street and city scale."""
    if quick:
        return {"ingest": ["--databases", "sqlite,postgresql", "--events", "6000", "--import-events", "20000",
                           "--import-runs", "1"],
                "kpis": ["--databases", "postgresql,sqlite", "--events", "200000", "--sqlite-events", "200000",
                         "--reps", "5"],
                "render": ["--runs", "1"],
                "citymap": ["--databases", "sqlite", "--runs", "1"],
                "load": ["--databases", "sqlite,postgresql", "--viewers", "40", "--seconds", "20"],
                "briefs": ["--databases", "sqlite", "--reps", "1"],
                "alarms": ["--hours", "6"]}
    return {"ingest": ["--databases", "sqlite,postgresql"],
            "kpis": ["--databases", "postgresql,sqlite"],
            "render": [],
            "citymap": ["--databases", "sqlite,postgresql"],
            "load": ["--databases", "sqlite,postgresql"],
            "briefs": ["--databases", "sqlite,postgresql"],
            "alarms": []}


def _ok(good: bool) -> str:
    return "✓" if good else "✗"


def summary_rows(results: dict) -> list[list[str]]:
    """One row per target of the issues, from whatever benchmarks ran."""
    rows = []
    for kind, r in results.get("ingest", {}).items():
        feed = next(k for k in r["events_per_s"] if k.startswith("ingest new"))
        rate, target = r["events_per_s"][feed], r["targets"][feed]
        rows.append(["ingest", f"new events/s, feed path, {kind}", f"{rate:,.0f}", f"≥ {target:,}", _ok(rate >= target)])
        bulk = next((k for k in r["events_per_s"] if "bulk import" in k), None)
        if bulk is not None:
            rate, target = r["events_per_s"][bulk], r["targets"][bulk]
            rows.append(["ingest", f"new events/s, bulk import of a {r['import_events']:,}-record file, {kind}",
                         f"{rate:,.0f}", f"≥ {target:,}", _ok(rate >= target)])
    for kind, r in results.get("kpis", {}).items():
        worst = max((q for q in r["queries"] if q["query"].startswith("KPI ") and "直接" not in q["query"]),
                    key=lambda q: q["p95_ms"])
        scan = [q for q in r["queries"] if "直接" in q["query"] and q["level"] == "city"]
        rows.append(["kpis", f"KPI p95, worst scope ({worst['level']}), {kind}, {r['events']:,} events",
                     f"{worst['p95_ms']:.0f} ms", f"≤ {kpis.TARGET_P95_MS} ms" if kind == "postgresql" else "",
                     _ok(worst["p95_ms"] <= kpis.TARGET_P95_MS) if kind == "postgresql" else ""])
        if scan:
            city = next(q for q in r["queries"] if q["level"] == "city" and q["query"] == "KPI 本年")
            rows.append(["kpis", f"city KPI from rollups vs scanning events, {kind}",
                         f"{scan[0]['p50_ms'] / city['p50_ms']:.0f}× faster", "", ""])
    r = results.get("render")
    if r:
        rows += [["render", "wall first render (street)", f"{r['wall_first_render_s']:.2f} s", "≤ 1.0 s",
                  _ok(r["wall_first_render_s"] <= 1.0)],
                 ["render", "vs naive plotly choropleth_map (wall view)", f"{r['speedup_vs_plotly_wall_view']:.1f}×",
                  "≥ 4.5×", _ok(r["speedup_vs_plotly_wall_view"] >= 4.5)],
                 ["render", "drill-down p50", f"{r['drill_down_s_p50'] * 1000:.0f} ms", "≤ 300 ms",
                  _ok(r["drill_down_s_p50"] <= 0.3)],
                 ["render", "idle refresh", f"{r['idle_refresh_bytes_max']} B", "≤ 2 KB",
                  _ok((r["idle_refresh_bytes_max"] or 0) <= 2048)],
                 ["render", "server memory", f"{r['server_rss_mb']:.0f} MB", "≤ 500 MB", _ok(r["server_rss_mb"] <= 500)]]
    for kind, r in results.get("citymap", {}).items():
        rows += [["citymap", f"city first render, {kind}", f"{r['first_render_s_median']:.2f} s", "≤ 2 s",
                  _ok(r["first_render_s_median"] <= citymap.TARGETS["first_render_s"])],
                 ["citymap", f"pan/zoom load, slowest, {kind}", f"{r['pan_zoom_s_max']:.2f} s", "≤ 1 s",
                  _ok(r["pan_zoom_s_max"] <= citymap.TARGETS["pan_zoom_s"])],
                 ["citymap", f"largest map view, {kind}", f"{r['max_view_map_bytes'] / 1024:.0f} KB", "≤ 3 MB",
                  _ok(r["max_view_map_bytes"] <= citymap.TARGETS["view_bytes"])]]
        if r.get("naive_all_micro_grids_bytes"):
            rows.append(["citymap", f"largest view vs every micro-grid inline (naive), {kind}",
                         f"{r['naive_all_micro_grids_bytes'] / r['max_view_map_bytes']:,.0f}× smaller", "", ""])
    for kind, r in results.get("load", {}).items():
        for what in ("refresh", "pushed refresh", "dispatch", "first load"):
            s = r.get(what)
            if s and s["n"]:
                rows.append(["load", f"{what} p95 / errors, {kind}", f"{s['p95_s'] * 1000:.0f} ms / {s['errors']}",
                             "≤ 200 ms / 0", _ok(s["p95_s"] <= load.TARGET_P95_S and not s["errors"])])
    for kind, r in results.get("briefs", {}).items():
        rows.append(["briefs", f"sub-district monthly 工作简报 (PDF + Excel), slowest, {kind}",
                     f"{r['monthly_subdistrict_s_max']:.2f} s", f"≤ {briefs.TARGET_S:g} s",
                     _ok(r["monthly_subdistrict_s_max"] <= briefs.TARGET_S)])
    if results.get("alarms"):  # 分色预警 over a simulated day (#18): the same table as bench.alarms
        from data_sources.alarm_day import DayFigures, day_table

        known = DayFigures.__dataclass_fields__
        day = DayFigures(**{k: v for k, v in results["alarms"].items() if k in known})
        rows += [["alarms", name, value, target, ok] for name, value, target, ok in day_table(day)]
    return rows + database_ratios(results)


def database_ratios(results: dict) -> list[list[str]]:
    """PostgreSQL against SQLite on the measures both ran (throughput: PostgreSQL ÷ SQLite; times: SQLite ÷
    PostgreSQL, so above 1× PostgreSQL is better either way)."""
    pairs = []
    ingest = results.get("ingest", {})
    if {"sqlite", "postgresql"} <= set(ingest):
        def rate(kind: str, word: str) -> float:
            return next(v for k, v in ingest[kind]["events_per_s"].items() if k.startswith("ingest new") and word in k)

        pairs += [("ingest, feed path (events/s)", rate("postgresql", "pipelined") / rate("sqlite", "pipelined")),
                  ("ingest, bulk import (events/s)", rate("postgresql", "bulk") / rate("sqlite", "bulk"))]
    city = results.get("citymap", {})
    if {"sqlite", "postgresql"} <= set(city):
        pairs.append(("city first render (s)", city["sqlite"]["first_render_s_median"]
                      / city["postgresql"]["first_render_s_median"]))
    load_ = results.get("load", {})
    if {"sqlite", "postgresql"} <= set(load_):
        for what in ("refresh", "dispatch"):
            if load_["sqlite"][what]["n"] and load_["postgresql"][what]["n"]:
                pairs.append((f"{what} p95 under load (ms)", load_["sqlite"][what]["p95_s"]
                              / load_["postgresql"][what]["p95_s"]))
    return [["ratio", f"PostgreSQL vs SQLite: {name}", f"{value:.2f}×", "", ""] for name, value in pairs]


def main(argv=None) -> dict:
    """Run the chosen benchmarks in order and print the summary of targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ORDER), help=f"comma-separated subset of {', '.join(ORDER)}")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the suite runs, not the targets")
    args = parser.parse_args(argv)
    modules = {"ingest": ingest, "kpis": kpis, "render": render, "citymap": citymap, "load": load, "briefs": briefs,
               "alarms": alarms}
    results, seconds = {}, {}
    for name in [n for n in ORDER if n in args.only.split(",")]:
        started = time.perf_counter()
        print(f"\n=== bench.{name} {' '.join(_args(args.quick)[name])}", flush=True)
        results[name] = modules[name].main(_args(args.quick)[name])
        seconds[name] = time.perf_counter() - started
    rows = summary_rows(results)
    print_table("Targets" + (" (--quick: sizes too small to judge)" if args.quick else ""),
                ["benchmark", "measure", "value", "target", ""], rows)
    print(f"results: {write_results('summary', {'quick': args.quick, 'seconds': seconds, 'rows': rows})}")
    return results


if __name__ == "__main__":
    main()
