"""Alarm management over a simulated day: python -m bench.alarms [--hours 24] [--screenshots DIR].

Seeds the demo world (street scale), runs the demo feeds at their profile and the scheduler's jobs
through `--hours` on a controlled clock (data_sources/alarm_day.py, the same run tests/test_alarm_day.py
asserts), prints the figures with their targets (issue #18) and, with --screenshots, serves the
cockpit at the end of that day and photographs the wall in 预警等级 and the 预警质量 page.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from .common import print_table, write_results

START = datetime(2026, 11, 20, 4, 0)  # 12:00 in Chengdu
SECRET = "bench-secret-key-0123456789abcdefghijklmnop"


def _screenshots(engine, end: datetime, out: Path) -> list[Path]:
    """Serve the cockpit at the end of the simulated day and photograph the wall and the 预警质量 page."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from dashboard.app import create_app
    from governance.accounts.accounts import create_user, open_session
    from governance.core.config import load_settings
    from governance.events.queries import world_info

    with engine.begin() as conn:
        focus = world_info(conn)["focus_code"]
        uid = create_user(conn, "bench-leader", "bench-password-123", "subdistrict_leader", focus, end,
                          display_name="街道领导")
        token, csrf = open_session(conn, end, user_id=uid)
    settings = load_settings(database_url=str(engine.url), cache_seconds=0, secret_key=SECRET,
                             cache_dir=tempfile.mkdtemp())
    app = create_app(settings, engine, clock=lambda: end)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", bypass_csp=True)
            ctx.add_cookies([{"name": "gc_session", "value": token, "url": base},
                             {"name": "_csrf_token", "value": csrf, "url": base}])
            page = ctx.new_page()
            for name, url, ready in (
                    ("day-wall-warning-level", f"/?area={focus}&metric=warning",
                     "window.gridCockpit && window.gridCockpit.drawn.community"),
                    ("day-wall-warning-level-micro", f"/?area={focus}&metric=warning&micro=1",
                     "window.gridCockpit && window.gridCockpit.drawn.micro_grid"),
                    ("day-alarm-quality", "/alarm-quality", "document.querySelector('.aq-rate .main-svg')"),
                    ("day-supervision", "/supervision", "document.querySelector('.supervision-table')")):
                page.goto(base + url)
                page.wait_for_function(ready, timeout=60_000)
                page.wait_for_timeout(4000)
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page="wall" not in name)
                shots.append(path)
            browser.close()
    finally:
        server.shutdown()
    return shots


def main(argv=None) -> dict:
    """Seed, simulate, print the table (and photograph with --screenshots)."""
    from data_sources.alarm_day import day_table, simulate_day
    from demo_world.seed import seed_world
    from governance.core.db import make_engine, migrate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-alarms-"))
    engine = make_engine(f"sqlite:///{work / 'world.sqlite3'}")
    migrate(engine)
    seed_world(engine, scale="street", seed=args.seed, now=START)
    f = simulate_day(engine, START, work / "drop", hours=args.hours)
    print_table(f"分色预警 over {args.hours:g} simulated hours (street scale, seed {args.seed})",
                ["figure", "value", "target", "met"], day_table(f))
    result = asdict(f)
    if args.screenshots:
        from datetime import timedelta

        result["screenshots"] = [str(p) for p in _screenshots(engine, START + timedelta(hours=args.hours),
                                                              args.screenshots)]
    write_results("alarms", {k: v for k, v in result.items()})
    return result


if __name__ == "__main__":
    main()
