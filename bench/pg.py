"""Seeded benchmark databases on SQLite and on a throwaway PostgreSQL server (devservers.postgres)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from devservers.postgres import PgServer, PostgresMissing  # noqa: F401 - named here too


@contextmanager
def bench_databases(kinds: list[str], sqlite_path: Path, scale: str = "street"):
    """Seeded engines for each kind ("sqlite", "postgresql"); PostgreSQL runs on a throwaway server."""
    from .common import seeded_engine

    server = None
    engines = {}
    try:
        for kind in kinds:
            if kind == "sqlite":
                engines[kind] = seeded_engine(sqlite_path, scale)
            else:
                server = server or PgServer()
                server.create_database("bench").dispose()
                engines[kind] = seeded_engine(server.url("bench"), scale)
                engines[kind].server_cpu = server.cpu_seconds  # the benchmarks report server CPU per event
        yield engines
    finally:
        for engine in engines.values():
            engine.dispose()
        if server is not None:
            server.stop()
