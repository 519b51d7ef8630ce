"""最新事件 of a scope: the newest events whichever index the query walks (wide scopes go by time)."""
from sqlalchemy import text

from governance.events import queries


def _newest_by_hand(conn, path: str, limit: int) -> list[int]:
    rows = conn.execute(text("SELECT id, reported_at FROM event WHERE area_path LIKE :p AND duplicate_of_id IS NULL "
                             "AND NOT is_drill"), {"p": path + "%"}).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.reported_at, r.id), reverse=True)[:limit]]


def test_latest_events_of_every_level_are_the_newest_of_the_scope(world_engine):
    with world_engine.connect() as conn:
        paths = [conn.execute(text("SELECT path FROM area WHERE level = :l ORDER BY code LIMIT 1"), {"l": level}).scalar()
                 for level in ("city", "district", "subdistrict", "community", "grid", "micro_grid")]
        paths = [p for p in paths if p]
        assert len(paths) >= 5
        wide = [p for p in paths if queries._many_events(conn, p)]
        assert wide, "no scope large enough to take the time index"
        for path in paths:
            got = [r["id"] for r in queries.latest_events(conn, path, 12)]
            assert got == _newest_by_hand(conn, path, 12), path
