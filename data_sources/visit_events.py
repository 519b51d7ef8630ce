"""发现问题，上报事件: an event raised from a 关爱走访 visit goes into the pool through the push intake.

Like any pushed event it is normalised, located (the household's micro-grid: its centre point), checked for
cross-source duplicates, stored with its audit rows and counted. Its source key is `visit-<task id>`, so the
same visit sent twice from the phone upserts one event; the task then remembers it (`visits.link_event`).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governance.models import Area, Event, Staff
from governance.models import Household, VisitTask
from governance.core.taxonomy import load_taxonomy
from governance.people.visits import link_event

from .base import RawRecord, raw_text_of
from .pipeline import ingest_records
from .push import PushSource

# Categories a worker can pick when a visit finds a problem (default: the first that fits the plan).
CATEGORIES = ["3101", "3102", "1101", "1102", "1202", "2201", "2202", "2104"]
PLAN_CATEGORY = {"disabled": "3102"}
CHANNEL = "关爱走访"


def category_choices() -> list[tuple[str, str]]:
    """(code, name) of the categories offered on the visit form."""
    cats = load_taxonomy().categories
    return [(code, cats[code].name) for code in CATEGORIES]


def source_key(task_id: int) -> str:
    """The push source key of the event raised from a visit task (one per task)."""
    return f"visit-{task_id}"


def raise_from_visit(engine: Engine, task_id: int, staff_id: int, text: str, category: str,
                     now: datetime) -> int:
    """Raise (once) the event a visit found; return its id. ValueError (Chinese) when it cannot be raised."""
    text = (text or "").strip()
    if not text:
        raise ValueError("请描述发现的问题")
    if category not in CATEGORIES:
        raise ValueError("请选择问题类别")
    with engine.connect() as conn:
        row = conn.execute(select(VisitTask.plan, VisitTask.staff_id, VisitTask.done_at, Household.address, Area.centroid_lon,
                                  Area.centroid_lat, Staff.name)
                           .join(Household, Household.id == VisitTask.household_id)
                           .join(Area, Area.path == VisitTask.area_path)
                           .outerjoin(Staff, Staff.id == VisitTask.staff_id)
                           .where(VisitTask.id == task_id)).first()
    if row is None or row.staff_id != staff_id:
        raise ValueError("该走访任务不属于你，或已改派")
    payload = {"source_key": source_key(task_id), "category": category, "lon": row.centroid_lon,
               "lat": row.centroid_lat, "title": f"走访发现：{text[:40]}", "description": text,
               "address": row.address, "channel": CHANNEL,
               "reported_at": min(row.done_at or now, now).isoformat() + "Z",  # found during the visit
               "reporter": {"name": row.name or "网格员"}}
    stats = ingest_records(engine, PushSource(), [RawRecord(payload, raw_text_of(payload), payload["source_key"])],
                           now=now, actor=f"走访:{row.name or staff_id}")
    if stats.quarantined:
        raise ValueError(f"事件未能上报：{stats.rejections[0][1]}")
    with engine.begin() as conn:
        event_id = conn.execute(select(Event.id).where(Event.source == PushSource.name,
                                                       Event.source_key == payload["source_key"])).scalar()
        link_event(conn, task_id, event_id)
    return event_id
