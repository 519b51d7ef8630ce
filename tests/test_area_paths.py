"""Area paths compare byte by byte on every database, whatever the database's own locale: a subtree
filter finds every descendant. (A PostgreSQL database created with a glibc locale such as
en_US.UTF-8 ignores the slashes, so "/1/2/5/" sorts after "/1/20" and fell outside "/1/2/".)"""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DataError, ProgrammingError

from governance.core.db import make_engine, migrate
from governance.models import Base, RollupDirty
from governance.core.scope import subtree

from .feed_helpers import world_copy

PATHS = ["/1/", "/1/2/", "/1/2/5/", "/1/2/5/9/", "/1/20/", "/1/20/4/", "/1/23/", "/1/3/", "/10/", "/2/"]


def _path_columns() -> list[str]:
    """Every column holding an area path (rule_override.path is a settings path such as "grid.spike.red_p")."""
    return sorted(f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
                  if c.name.endswith("_path") or (c.name == "path" and t.name != "rule_override"))


def _subtrees_are_whole(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(RollupDirty), [{"area_path": p, "day": date(2026, 11, 20)} for p in PATHS])
    with engine.connect() as conn:
        for root in PATHS:
            found = set(conn.execute(select(RollupDirty.area_path).where(
                subtree(RollupDirty.area_path, root))).scalars())
            assert found == {p for p in PATHS if p.startswith(root)}, root


def test_every_path_column_compares_bytes(world_engine, tmp_path):
    columns = _path_columns()
    assert len(columns) >= 6  # area.path, event/warning/rollups' area_path
    if world_engine.dialect.name == "postgresql":
        with world_engine.connect() as conn:
            collation = dict(conn.execute(text(
                "SELECT table_name || '.' || column_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema()")).all())
        assert {c: collation.get(c) for c in columns} == {c: "C" for c in columns}
    _subtrees_are_whole(world_copy(world_engine, tmp_path))


def test_subtrees_are_whole_in_a_database_with_an_english_locale(test_db, request):
    if test_db != "postgresql":
        pytest.skip("a PostgreSQL database's own locale (SQLite always compares bytes)")
    pg = request.getfixturevalue("pg_server")
    name = f"paths_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                                 "LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'")
    except (DataError, ProgrammingError) as exc:
        pytest.fail(f"the en_US.UTF-8 locale is missing on this machine (`make system-deps` generates it): {exc}")
    finally:
        admin.dispose()
    engine = make_engine(pg.url(name))
    try:
        with engine.connect() as conn:  # the locale really breaks byte order here: the test can fail
            assert conn.exec_driver_sql("SELECT '/1/2/5/' < '/1/20'").scalar() is False
        migrate(engine)
        _subtrees_are_whole(engine)
    finally:
        engine.dispose()
