"""Helpers for feed tests: a fresh copy of the seeded world and points inside known grids."""
from __future__ import annotations

import shutil

import shapely
from sqlalchemy import text

from data_sources.locate import forget_locator
from governance.core.db import make_engine


def world_copy(world_engine, tmp_path):
    """A private copy of the seeded world database (tests may write to it)."""
    if world_engine.dialect.name == "postgresql":
        engine = world_engine.template_of.copy_of_world()
        forget_locator(engine)
        return engine
    src = world_engine.url.database
    with world_engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
    dst = tmp_path / "feeds.sqlite3"
    shutil.copy(src, dst)
    engine = make_engine(f"sqlite:///{dst}")
    forget_locator(engine)
    return engine


def grid_points(engine, n: int = 5) -> list[tuple[int, float, float]]:
    """(area id, lon, lat) of an interior point of n micro-grids."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, geometry FROM area WHERE level='micro_grid' "
                                 "ORDER BY id LIMIT :n"), {"n": n}).all()
    out = []
    for r in rows:
        p = shapely.from_geojson(r.geometry).representative_point()
        out.append((r.id, p.x, p.y))
    return out


def count(engine, sql: str, **params) -> int:
    """Run a COUNT query."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
