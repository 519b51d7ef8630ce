"""Fast bulk writes of many rows (the people registry's seeds and imports): the driver's own paths."""
from __future__ import annotations

from sqlalchemy import insert

CHUNK = 20_000


def insert_rows(conn, table, rows: list[dict]) -> None:
    """Insert dict rows into a Core table: SQLite executemany of tuples, PostgreSQL COPY, else SQLAlchemy.

    Every row must carry the same keys (the first row's); missing scalar defaults are not filled in.
    """
    if not rows:
        return
    cols = list(rows[0])
    dialect, driver = conn.dialect.name, conn.dialect.driver
    if dialect == "sqlite" and driver == "pysqlite":
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        raw = conn.connection.driver_connection
        dated = {c for r in rows[:200] for c in cols if hasattr(r[c], "isoformat")}  # date columns, by sample
        conv = [(c, c in dated) for c in cols]
        for i in range(0, len(rows), CHUNK):
            raw.executemany(sql, [tuple(_sqlite(r[c]) if d else r[c] for c, d in conv) for r in rows[i:i + CHUNK]])
        return
    if dialect == "postgresql" and driver == "psycopg":
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row([r[c] for c in cols])
        return
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[i:i + CHUNK])


def _sqlite(v):
    """Values as SQLAlchemy would bind them on SQLite (datetimes as ISO text with a space; None stays)."""
    if hasattr(v, "hour"):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
