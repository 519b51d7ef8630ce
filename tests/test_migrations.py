"""Migrations: an existing database with data moves to the newest schema quickly and intact."""
import time
from datetime import datetime

from alembic import command
from sqlalchemy import text

from governance.db import alembic_config, make_engine, migrate


def head_revision() -> str:
    """The newest migration in migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()


def test_upgrade_keeps_data_and_is_fast(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    geom = '{"type":"Point","coordinates":[0,0]}'
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO category (code, name, family) VALUES ('01', '市容环境', 'x')"))
        conn.execute(text("INSERT INTO area (id, code, name, level, path, geometry, min_lon, min_lat, max_lon, "
                          "max_lat, centroid_lon, centroid_lat) VALUES (1, 'A', 'a', 'micro_grid', '/A/', :g, "
                          "0, 0, 0, 0, 0, 0)"), {"g": geom})
        rows = [{"id": i, "k": f"K{i}", "dup": (i - 1) if i % 2 == 0 else None, "t": datetime(2026, 1, 1)}
                for i in range(1, 3001)]
        conn.execute(text("INSERT INTO event (id, source, source_key, category_code, title, description, address, "
                          "outside_grid, severity, status, handling_level, reported_at, updated_at, is_drill, "
                          "duplicate_of_id, raw_payload, rework_count) VALUES (:id, 'cases', :k, '01', 't', '', '', 0, "
                          "1, 'collect', 'grid', :t, :t, 0, :dup, '{\"a\": 1}', 0)"), rows)
        conn.execute(text("INSERT INTO event_audit (event_id, at, actor, action, field) "
                          "SELECT id, reported_at, 'x', 'y', 'status' FROM event"))
    start = time.perf_counter()
    migrate(engine)
    elapsed = time.perf_counter() - start
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert conn.execute(text("SELECT COUNT(*) FROM event")).scalar() == 3000
        assert conn.execute(text("SELECT COUNT(*) FROM event WHERE duplicate_of_id IS NOT NULL")).scalar() == 1500
        assert conn.execute(text("SELECT raw_payload FROM event WHERE id=1")).scalar() == '{"a": 1}'
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    assert elapsed < 30  # with foreign keys on during the table rebuild this took minutes
