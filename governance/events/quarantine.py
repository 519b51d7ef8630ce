"""待查记录: feed records that could not be used, kept as received with their reasons (read side)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import Quarantine


def open_records(conn: Connection, limit: int = 200) -> list[dict]:
    """The newest unresolved quarantined records (all columns), newest first, at most `limit`."""
    rows = conn.execute(select(Quarantine).where(Quarantine.resolved.is_(False))
                        .order_by(Quarantine.id.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]
