"""Engine, sessions and migrations: SQLite by default, any SQLAlchemy URL via DATABASE_URL."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def _sqlite_from_hint(self, table, text):
    """SQLite understands `INDEXED BY <index>` after a table name; SQLAlchemy's SQLite compiler drops it."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # lets .with_hint(..., dialect_name="sqlite") render


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; for SQLite make the folder and set WAL, foreign keys and a busy timeout; for
    PostgreSQL plan every execution for its own parameters."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # Raw feed payloads may hold dates or decimals: store them as text rather than fail.
    kwargs.setdefault("json_serializer", lambda obj: json.dumps(obj, ensure_ascii=False, default=str))
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # psycopg prepares a statement after five runs, and PostgreSQL may then reuse one generic plan
        # for every parameter: a scope's path range is a city one time and a grid the next, so plan
        # each execution for its own values (the statement stays prepared: parsing is still saved).
        kwargs.setdefault("connect_args", {"options": "-c plan_cache_mode=force_custom_plan"})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA wal_autocheckpoint=20000")  # checkpoint every ~80 MB, not 4 MB
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def alembic_config(engine: Engine):
    """Return an Alembic Config bound to this engine's URL and the project's migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False)
                        .replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates every table on an empty database)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # Batch migrations rebuild tables; with foreign keys on, SQLite would check every
            # dropped row against every referencing row (hours on a real event table).
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()  # end SQLAlchemy's autobegun (empty) transaction
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def is_seeded(engine: Engine) -> bool:
    """True when the database has a schema and a seeded demo world (or real areas)."""
    if "area" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT 1 FROM area LIMIT 1").first() is not None



def sync_sequences(conn) -> None:
    """After rows were inserted with explicit ids, move PostgreSQL's id sequences past them (no-op elsewhere)."""
    if conn.dialect.name != "postgresql":
        return
    from ..models import Base

    for table in Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)")
