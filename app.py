"""Grid Cockpit entry point: `python app.py [serve|web|scheduler|seed|migrate|…]` (see README)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from governance.core.config import load_settings
from governance.core.db import is_seeded, make_engine, migrate

log = logging.getLogger("gridcockpit")


def prepare_database(settings, engine) -> None:
    """Migrate the schema and, if the database holds no world yet, seed the demo world."""
    migrate(engine)
    if not is_seeded(engine):
        from demo_world.seed import seed_world

        print(f"空数据库：正在生成演示数据（规模 {settings.scale}，种子 {settings.seed}）…", file=sys.stderr)
        summary = seed_world(engine, scale=settings.scale, seed=settings.seed)
        print(f"演示数据已生成：{summary}", file=sys.stderr)


def feed_sources(settings, engine, cockpit_url: str | None):
    """Sources from COCKPIT_FEEDS, or the demo simulator's (started here) when demo feeds are on."""
    from data_sources.registry import build_sources, demo_config, load_config

    config = load_config()
    if config is None and settings.demo_feeds:
        from data_sources.registry import DEFAULT_DROP_FOLDER
        from data_sources.simulator import FeedSimulator
        from governance.accounts.api_clients import rotate_client

        token = rotate_client(engine, "demo-simulator")
        sim = FeedSimulator(engine, DEFAULT_DROP_FOLDER, seed=settings.seed, cockpit_url=cockpit_url,
                            push_token=token)
        url = sim.start(settings.simulator_port)
        print(f"演示数据源模拟器：{url}", file=sys.stderr)
        config = demo_config(url)
    return build_sources(config or {})


def run_import(args, settings, engine) -> int:
    """`python app.py import FEED --file PATH [--workers N]`: print what was imported and quarantined."""
    from data_sources.bulk_import import ImportFileError, import_file

    if not args.name or not args.file:
        print("usage: python app.py import FEED --file PATH [--workers N]", file=sys.stderr)
        return 2
    migrate(engine)
    try:
        result = import_file(settings.database_url, args.name, Path(args.file), workers=args.workers)
    except (ImportFileError, ValueError) as exc:
        print(f"import: {exc}", file=sys.stderr)
        return 2
    s = result.stats
    print(f"导入完成：收到 {s.received:,} 条，新增 {s.inserted:,}，更新 {s.updated:,}，重复关联 {s.duplicates_linked:,}，"
          f"隔离 {s.quarantined:,}（见数据源健康页）；{result.workers} 个进程；汇总"
          f"{'已重建' if result.rollups == 'rebuilt' else '已刷新'}（{result.rollup_groups:,} 组）；"
          f"写入 {result.ingest_seconds:.1f} 秒（{s.received / max(result.ingest_seconds, 1e-9):,.0f} 条/秒），"
          f"汇总 {result.rollup_seconds:.1f} 秒",
          file=sys.stderr)
    return 0


def run_import_people(args, settings, engine) -> int:
    """`python app.py import-people FILE`: import residents, rentals, premises; print what changed."""
    from data_sources.people_files import PeopleFileError
    from data_sources.people_import import import_people
    from governance.core.config import secret_key

    if not args.name:
        print("usage: python app.py import-people FILE（.csv UTF-8/GBK 或 .xlsx）", file=sys.stderr)
        return 2
    migrate(engine)
    try:
        summary = import_people(engine, Path(args.name), secret_key(settings), actor="cli")
    except (PeopleFileError, OSError, ValueError) as exc:
        print(f"import-people: {exc}", file=sys.stderr)
        return 2
    print(f"人口数据导入完成：{summary.text()}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface; every flag has an environment-variable twin (see README)."""
    parser = argparse.ArgumentParser(description="Grid Cockpit 网格驾驶舱")
    parser.add_argument("command", nargs="?", default="serve",
                        choices=["serve", "web", "scheduler", "seed", "migrate", "token", "create-admin", "user",
                                 "device", "embed-token", "rollups", "import", "import-people"])
    parser.add_argument("name", nargs="?", help="client name (token), username (create-admin, user), device name, "
                                                "feed (import), file (import-people)")
    parser.add_argument("--file", help="import: the records to import (JSON Lines, or one JSON array)")
    parser.add_argument("--workers", type=int, default=2, help="import: parallel processes (PostgreSQL; SQLite: 1)")
    parser.add_argument("--role", help="role of a new user: subdistrict_leader, community_staff, grid_worker, viewer, admin")
    parser.add_argument("--area", help="area code: a user's or device's scope, an embed token's area")
    parser.add_argument("--department", help="user --role department: the department code it speaks for (吹哨报到)")
    parser.add_argument("--scope", default="push", help="token: what the client may do, 'push' and/or 'embed'")
    parser.add_argument("--panels", default="kpis,map,warnings,trends", help="embed-token: panels to show")
    parser.add_argument("--ttl", type=int, default=600, help="embed-token: seconds it stays valid")
    parser.add_argument("--playlist", help='device: JSON list of {"view": "#area=…", "seconds": 60}')
    parser.add_argument("--rotate", action="store_true", help="device: issue a new link (running walls continue)")
    parser.add_argument("--revoke", action="store_true", help="device: stop the device everywhere")
    parser.add_argument("--disable", action="store_true", help="user: disable the account and end its sessions at once")
    parser.add_argument("--enable", action="store_true", help="user: let a disabled account sign in again")
    parser.add_argument("--reset-password", action="store_true",
                        help="user: set a new password (typed twice, or --password-stdin); ends its sessions")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--host", help="bind address (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env PORT, default 8050)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (env DATABASE_URL)")
    parser.add_argument("--scale", choices=["street", "district", "city"],
                        help="demo world size for an empty database (env COCKPIT_SCALE)")
    parser.add_argument("--seed", type=int, help="demo world seed (env COCKPIT_SEED)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    settings = load_settings(host=args.host, port=args.port, database_url=args.database_url,
                             scale=args.scale, seed=args.seed)
    engine = make_engine(settings.database_url)
    if args.command == "migrate":
        migrate(engine)
        return 0
    if args.command == "rollups":  # re-derive every pre-aggregate from the events
        from governance.figures.rollups import rebuild

        migrate(engine)
        with engine.begin() as conn:
            print(f"rollups rebuilt: {rebuild(conn):,} rows", file=sys.stderr)
        return 0
    if args.command == "import":  # a backfill through the feed pipeline, in parallel processes
        return run_import(args, settings, engine)
    if args.command == "import-people":  # the population platform's export into the people registry
        return run_import_people(args, settings, engine)
    if args.command in ("token", "create-admin", "user", "device", "embed-token"):
        from governance.console.admin_cli import run_admin_command

        migrate(engine)
        return run_admin_command(args, settings, engine)
    if args.command == "serve":  # the one-command demo
        import dataclasses

        settings = dataclasses.replace(settings, demo=True)
    prepare_database(settings, engine)
    if args.command == "seed":
        return 0
    if args.command == "scheduler":
        from data_sources.pipeline import records_gc
        from data_sources.registry import build_sources, load_config
        from data_sources.scheduler import build_scheduler, warning_jobs

        config = load_config()
        if config is None:
            print("scheduler: set COCKPIT_FEEDS to a feeds YAML file (see README)", file=sys.stderr)
            return 2
        scheduler = build_scheduler(engine, build_sources(config), blocking=True,
                                    extra_jobs=warning_jobs(engine, settings))
        with records_gc():  # this process's work is a stream of feed records
            scheduler.start()
        return 0
    from dashboard.app import create_app

    app = create_app(settings, engine)
    if args.command == "serve":
        from data_sources.scheduler import build_scheduler, warning_jobs
        from demo_world.demo_accounts import ensure_demo_accounts

        url = f"http://{settings.host}:{settings.port}"
        print(ensure_demo_accounts(engine).replace("：/kiosk/", f"：{url}/kiosk/"), file=sys.stderr)
        build_scheduler(engine, feed_sources(settings, engine, url),
                        extra_jobs=warning_jobs(engine, settings)).start()
    print(f"网格驾驶舱已启动：http://{settings.host}:{settings.port}", file=sys.stderr)
    app.run(host=settings.host, port=settings.port, debug=False, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
