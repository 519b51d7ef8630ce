"""People registry import speed: 100,000 residents from a GBK CSV into the street-scale world on SQLite
(target ≤ 30 s), then the same file again (nothing changes). python -m bench.people_import [--residents N]."""
from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from data_sources.people_import import import_people
from governance.models import Area
from governance.people.groups import check_digit

from .common import print_table, seeded_engine, timer, write_results

TARGET_SECONDS = 30.0


def write_export(engine, path: Path, n: int, seed: int = 1) -> None:
    """A residents export of n people (valid ID numbers, real addresses, ~2.6 per household), in GBK."""
    rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        comm = dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())
        micro = [(comm[p.strip("/").split("/")[-3]], name) for name, p in
                 conn.execute(select(Area.name, Area.path).where(Area.level == "micro_grid"))]
    groups = ["", "", "", "", "", "", "", "", "独居老人", "残疾人", "空巢老人", "低保/困难家庭"]
    with path.open("w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["户编号", "姓名", "身份证号", "联系电话", "地址", "人口类型", "特殊人群", "状态"])
        for i in range(n):
            hh = i * 10 // 26
            c, m = micro[hh % len(micro)]
            first17 = f"510107{1940 + i % 80}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            first17 = first17[:14] + f"{(i // 1000) % 1000:03d}"
            w.writerow([f"B-{hh:07d}", "测试居民", first17 + check_digit(first17), f"139{i:08d}",
                        f"{c}{m}{100 + hh % 30}室", "常住" if rng.random() < 0.8 else "流动",
                        groups[int(rng.integers(len(groups)))], ""])


def main(argv=None) -> dict:
    """Seed (or reuse) a street world, import n residents twice, print and store the times."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--world", default=str(Path(tempfile.gettempdir()) / "gridcockpit-bench-people.sqlite3"))
    args = ap.parse_args(argv)
    base = seeded_engine(args.world)
    base.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.sqlite3"
        shutil.copy(args.world, db)
        engine = seeded_engine(db)
        export = Path(tmp) / "residents.csv"
        write_export(engine, export, args.residents)
        secret = "bench-secret-" + "x" * 40
        cpu0 = time.process_time()
        with timer() as first:
            s1 = import_people(engine, export, secret, actor="bench")
        cpu1 = time.process_time()
        with timer() as again:
            s2 = import_people(engine, export, secret, actor="bench")
        cpu2 = time.process_time()
    rows = [["first import", f"{args.residents:,}", f"{first():.1f}", f"{cpu1 - cpu0:.1f}",
             f"{s1.inserted:,} new, {s1.quarantined} quarantined", "✓" if first() <= TARGET_SECONDS else "✗"],
            ["re-import", f"{args.residents:,}", f"{again():.1f}", f"{cpu2 - cpu1:.1f}", f"{s2.unchanged:,} unchanged", ""]]
    print_table(f"People import on SQLite (target ≤ {TARGET_SECONDS:.0f} s for 100,000 residents)",
                ["run", "residents", "seconds", "CPU s", "result", "target"], rows)
    result = {"residents": args.residents, "first_seconds": first(), "reimport_seconds": again(),
              "first_cpu_seconds": cpu1 - cpu0, "reimport_cpu_seconds": cpu2 - cpu1,
              "inserted": s1.inserted, "unchanged_on_reimport": s2.unchanged, "target_seconds": TARGET_SECONDS}
    write_results("people_import", result)
    return result


if __name__ == "__main__":
    main()
