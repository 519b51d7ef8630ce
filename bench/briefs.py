"""工作简报 generation time: a sub-district's monthly report (gather with the cockpit's KPI code, PDF, Excel, store).

python -m bench.briefs [--databases sqlite,postgresql] [--db PATH] [--reps N]
Target (issue #22): ≤ 10 s for a sub-district's monthly report, at street scale.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from .common import print_table, write_results

TARGET_S = 10.0


def measure(engine, reps: int) -> dict:
    """Generate the focus sub-district's monthly report (last month and this month so far) `reps` times each."""
    from governance.reports.briefs import generate, gather, period_of
    from governance.reports.brief_pdf import render_pdf
    from governance.reports.brief_xlsx import render_xlsx
    from governance.events.queries import world_info
    from governance.core.timeutil import utcnow

    with engine.connect() as conn:
        focus = world_info(conn)["focus_code"]
    now = utcnow()
    runs = {}
    for which in ("previous", "current"):
        totals, parts = [], {"gather": [], "pdf": [], "xlsx": []}
        for _ in range(reps):
            started = time.perf_counter()
            generate(engine, focus, "monthly", now, which, actor="bench")
            totals.append(time.perf_counter() - started)
        with engine.begin() as conn:  # the same once more, step by step
            t = time.perf_counter()
            content = gather(conn, focus, period_of("monthly", now, which), now)
            parts["gather"].append(time.perf_counter() - t)
        t = time.perf_counter()
        pdf = render_pdf(content)
        parts["pdf"].append(time.perf_counter() - t)
        t = time.perf_counter()
        render_xlsx(content)
        parts["xlsx"].append(time.perf_counter() - t)
        runs[which] = {"total_s_max": max(totals), "total_s_median": statistics.median(totals),
                       **{f"{k}_s": v[0] for k, v in parts.items()}, "pdf_bytes": len(pdf)}
    return {"area": focus, "reps": reps, "runs": runs,
            "monthly_subdistrict_s_max": max(r["total_s_max"] for r in runs.values())}


def main(argv=None) -> dict:
    """Command line entry: prints the table, writes bench/results/briefs.json."""
    from .pg import bench_databases

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "gridcockpit-street.sqlite3")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    results = {}
    with bench_databases(args.databases.split(","), args.db, scale="street") as engines:
        for kind, engine in engines.items():
            results[kind] = r = measure(engine, args.reps)
            print_table(f"工作简报 on {kind}: sub-district {r['area']} monthly report, {args.reps} runs each "
                        f"(target ≤ {TARGET_S:g} s)",
                        ["period", "total median", "total max", "gather", "PDF", "Excel", "PDF size"],
                        [[which, f"{x['total_s_median']:.2f} s", f"{x['total_s_max']:.2f} s", f"{x['gather_s']:.2f} s",
                          f"{x['pdf_s']:.2f} s", f"{x['xlsx_s']:.2f} s", f"{x['pdf_bytes'] / 1024:.0f} KB"]
                         for which, x in r["runs"].items()])
    print(f"results: {write_results('briefs', results)}")
    return results


if __name__ == "__main__":
    main()
