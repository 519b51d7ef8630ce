"""Open tasks for the demo's grid worker account, so its phone page (/worker/mine) has work on it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from governance.events.dispatch import DispatchError, add_progress, advance, dispatch, worker_advance
from governance.models import Area, Event, Staff

ACTOR = "演示派单"
OPEN = ("collect", "discover", "assign", "handle")


def busiest_grid(conn: Connection, community_code: str):
    """(id, code) of the community's general grid with the most open events (the demo worker's grid)."""
    comm = conn.execute(select(Area.path).where(Area.code == community_code)).scalar()
    if comm is None:
        return None
    grids = conn.execute(select(Area.id, Area.code, Area.path).where(
        Area.level == "general_grid", Area.path.startswith(comm)).order_by(Area.code)).all()
    if not grids:
        return None
    counts = {g.code: conn.execute(select(func.count()).select_from(Event).where(
        Event.area_path.startswith(g.path), Event.status.in_(OPEN), Event.is_drill.is_(False))).scalar() for g in grids}
    return max(grids, key=lambda g: (counts[g.code], -grids.index(g)))


def give_open_tasks(conn: Connection, staff_id: int, now: datetime, n: int = 3) -> list[int]:
    """Give the worker up to `n` of the newest open events in their area — dispatched when new, 改派 from
    the micro-grid's worker when already under way; the first is accepted with a progress note (so its
    card has earlier notes). The event ids."""
    path = conn.execute(select(Area.path).join(Staff, Staff.area_id == Area.id).where(Staff.id == staff_id)).scalar()
    name = conn.execute(select(Staff.name).where(Staff.id == staff_id)).scalar()
    if path is None:
        return []
    candidates = conn.execute(select(Event.id, Event.status).where(
        Event.area_path.startswith(path), Event.status.in_(OPEN),
        Event.is_drill.is_(False), Event.duplicate_of_id.is_(None))
        .order_by(Event.reported_at.desc()).limit(n * 3)).all()
    given = []
    for eid, status in candidates:
        try:
            if status == "collect":
                advance(conn, eid, "discover", ACTOR, now)
            if status in ("collect", "discover"):
                dispatch(conn, eid, staff_id, ACTOR, now)
            else:
                advance(conn, eid, "assign", ACTOR, now, note="演示：交给演示网格员", staff_id=staff_id)
        except DispatchError:
            continue
        given.append(eid)
        if len(given) == 1:
            worker_advance(conn, eid, staff_id, "handle", name, now)
            add_progress(conn, eid, name, now, "已到现场查看，正在联系相关住户")
        if len(given) >= n:
            break
    return given
