"""Shared benchmark helpers: a seeded world to measure on, timing, tables and result files."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

from devservers.net import free_port, wait_http  # noqa: F401 - the benchmarks use them too

RESULTS = Path(__file__).resolve().parent / "results"


def seeded_engine(path: Path | str, scale: str = "street", seed: int = 5):
    """A migrated database with the demo world at `path` (a SQLite file or any URL; seeded once, then reused)."""
    from governance.core.db import is_seeded, make_engine, migrate

    engine = make_engine(path if isinstance(path, str) and "://" in path else f"sqlite:///{path}")
    migrate(engine)
    if not is_seeded(engine):
        from demo_world.seed import seed_world

        seed_world(engine, scale=scale, seed=seed)
    return engine


@contextmanager
def timer():
    """Measure wall time: `with timer() as t: …; t()` returns seconds."""
    start = time.perf_counter()
    elapsed = [None]
    yield lambda: elapsed[0] if elapsed[0] is not None else time.perf_counter() - start
    elapsed[0] = time.perf_counter() - start


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """Print an aligned text table."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, r in enumerate(cells):
        print("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def write_results(name: str, data: dict) -> Path:
    """Write results as JSON under bench/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return out


def device_sessions(engine, name: str, n: int = 1) -> list[dict]:
    """Cookies ({"gc_session", "_csrf_token"}) of n fresh sessions of wall device `name` (created on the focus area)."""
    from sqlalchemy import text

    from governance.accounts.accounts import create_device, open_session
    from governance.events.queries import world_info
    from governance.core.timeutil import utcnow

    find = text("SELECT id FROM kiosk_device WHERE name=:n")
    out = []
    with engine.begin() as conn:
        if conn.execute(find, {"n": name}).scalar() is None:
            create_device(conn, name, world_info(conn)["focus_code"], utcnow(), "bench")
        device = conn.execute(find, {"n": name}).scalar()
        for _ in range(n):
            token, csrf = open_session(conn, utcnow(), device_id=device)
            out.append({"gc_session": token, "_csrf_token": csrf})
    return out
