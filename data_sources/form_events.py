"""统一表单推送 answers into the data pool: store a worker's answers once and raise an event for every "no"
on a safety question, through the push intake's pipeline (located, deduplicated, audited)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from governance.people import forms
from governance.models import Area, Event

from .base import RawRecord, raw_text_of
from .pipeline import ingest_records
from .push import PushSource

KEY_PREFIX = "FORM-"
CHANNEL = "统一表单"


def source_key(assignment_id: int, question: str) -> str:
    """The pool key of the event a safety "no" raises (one per assignment and question, so never twice)."""
    return f"{KEY_PREFIX}{assignment_id}-{question}"


def submit_answers(engine: Engine, assignment_id: int, staff_id: int, raw: dict, actor: str,
                   now: datetime, photos=()) -> tuple[bool, list[int]]:
    """Store the answers (and their photos, governance.people.forms.submit) once; raise the safety events of a
    first submission. (stored now?, event ids)."""
    with engine.begin() as conn:
        stored, items = forms.submit(conn, assignment_id, staff_id, raw, actor, now, photos)
        centroids = {p: (lon, lat) for p, lon, lat in conn.execute(
            select(Area.path, Area.centroid_lon, Area.centroid_lat)
            .where(Area.path.in_({i["area_path"] for i in items})))} if items else {}
    if not items:
        return stored, []
    records = []
    for i in items:
        lon, lat = centroids[i["area_path"]]
        payload = {"source_key": source_key(i["assignment_id"], i["question"]), "category": i["category"],
                   "lon": lon, "lat": lat, "title": i["title"], "description": i["description"],
                   "address": i["label"][:200], "channel": CHANNEL, "reported_at": now.isoformat() + "Z"}
        records.append(RawRecord(payload, raw_text_of(payload), payload["source_key"]))
    ingest_records(engine, PushSource(), records, now=now, actor=actor)
    with engine.begin() as conn:
        ids = list(conn.execute(select(Event.id).where(
            Event.source == PushSource.name, Event.source_key.in_([r.key_hint for r in records]))
            .order_by(Event.id)).scalars())
        forms.link_events(conn, assignment_id, ids)
    return stored, ids
