"""Migrations: an existing database with data moves to the newest schema quickly and intact."""
import time
from datetime import datetime

from alembic import command
from sqlalchemy import select, text

from governance.core.db import alembic_config, make_engine, migrate


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


def test_migrations_build_the_schema_the_models_declare(world_engine):
    """The migrated database has every table, column, type, index and key the models declare (a model
    change without its migration fails here), on SQLite and on PostgreSQL."""
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from governance.models import Base

    # On PostgreSQL migration 0010 replaced these foreign keys with statement-level triggers.
    replaced = {(ref[1], ref[2]) for ref in importlib.import_module(
        "migrations.versions.0010_statement_level_references").REFERENCES}
    with world_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    if world_engine.dialect.name == "postgresql":
        left = [d for d in diff if not (d[0] == "add_fk" and (d[1].table.name, *d[1].column_keys) in replaced)]
        assert len(diff) - len(left) == len(replaced)
        diff = left
    assert diff == []



def test_downgrade_turns_intake_batches_back_into_intake_audit_rows(engine):
    """Rolling 0012 back writes each fed event's 接入 audit row, as its history showed it."""
    from datetime import timedelta

    from alembic import command

    from data_sources.base import RawRecord
    from data_sources.cases import CasesSource
    from data_sources.pipeline import ingest_records
    from governance.models import EventAudit
    from governance.events.queries import event_detail

    from .conftest import WORLD_NOW
    from .feed_helpers import grid_points
    from .test_ingest_bulk import _case

    (_, lon, lat), = grid_points(engine, 1)
    cases = [_case(f"DG-{i}", lon + (1.0 if i % 2 else 0.0), lat, WORLD_NOW - timedelta(hours=i),
                   status="办结" if i == 2 else "受理") for i in range(4)]
    source = CasesSource("http://unused")
    ingest_records(engine, source, [RawRecord(c, "", c["case_no"]) for c in cases], now=WORLD_NOW)
    later = _case("DG-1", lon, lat, WORLD_NOW - timedelta(hours=1), status="办结")
    ingest_records(engine, source, [RawRecord(later, "", "DG-1")], now=WORLD_NOW + timedelta(hours=1))
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM event WHERE source_key LIKE 'DG-%' ORDER BY source_key")).scalars().all()
        shown = [event_detail(conn, i)["history"][0] for i in ids]
    assert [h["to_value"] for h in shown] == ["discover", "discover", "closed", "discover"]
    assert [h["note"] is not None for h in shown] == [False, True, False, True]  # odd ones lie outside

    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
    with engine.connect() as conn:
        a = EventAudit.__table__.c
        rows = {r.event_id: {k: v for k, v in r._mapping.items() if k != "event_id"} for r in conn.execute(
            select(a.event_id, a.at, a.actor, a.action, a.field, a.from_value, a.to_value, a.note)
            .where(a.action == "接入", a.event_id.in_(ids)))}
    assert [rows.get(i) for i in ids] == shown
    migrate(engine)
    with engine.connect() as conn:
        assert event_detail(conn, ids[0])["history"][0]["action"] == "接入"
