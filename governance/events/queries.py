"""Read models for the screens: areas of a view, per-area event counts, latest events."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..figures.kpis import counted_events
from ..models import Area, Category, Event, WorldInfo
from ..core.scope import subtree


@dataclass(frozen=True)
class AreaRef:
    """The identifying facts of one area, without its geometry."""

    id: int
    code: str
    name: str
    level: str
    path: str
    bounds: tuple[float, float, float, float]


_REF_COLS = (Area.id, Area.code, Area.name, Area.level, Area.path,
             Area.min_lon, Area.min_lat, Area.max_lon, Area.max_lat)


def _ref(row) -> AreaRef:
    return AreaRef(row.id, row.code, row.name, row.level, row.path,
                   (row.min_lon, row.min_lat, row.max_lon, row.max_lat))


def world_info(conn: Connection) -> dict[str, str]:
    """Return the seeded world's facts (scale, seed, focus_code …)."""
    return dict(conn.execute(select(WorldInfo.key, WorldInfo.value)).all())


def area_by_code(conn: Connection, code: str) -> AreaRef | None:
    """Return an area by code, or None."""
    row = conn.execute(select(*_REF_COLS).where(Area.code == code)).one_or_none()
    return _ref(row) if row else None


def areas_in(conn: Connection, scope_path: str, level: str) -> list[AreaRef]:
    """Return the areas of one level inside a scope, ordered by code."""
    rows = conn.execute(select(*_REF_COLS).where(subtree(Area.path, scope_path),
                                                 Area.level == level).order_by(Area.code))
    return [_ref(r) for r in rows]


# Geometry simplification per level, in degrees (~30 m): real district outlines carry far more vertices
# than a map at their zoom can show. Siblings are simplified together, so shared edges stay shared.
SIMPLIFY = {"city": 0.0003, "district": 0.0003}


def _features(rows, tolerance: float = 0.0) -> dict:
    """A GeoJSON FeatureCollection from area rows (code, name, level, households, residents, kind, geometry)."""
    geometries = [json.loads(r.geometry) for r in rows]
    if tolerance and rows:
        import shapely

        shapes = shapely.coverage_simplify([shapely.geometry.shape(g) for g in geometries], tolerance)
        geometries = [shapely.geometry.mapping(g) for g in shapes]
    features = [{"type": "Feature", "id": r.code, "geometry": geom,
                 "properties": {"code": r.code, "name": r.name, "level": r.level,
                                "households": r.households, "residents": r.residents,
                                "kind": r.dedicated_kind}} for r, geom in zip(rows, geometries)]
    return {"type": "FeatureCollection", "features": features}


_FEATURE_COLS = (Area.code, Area.name, Area.level, Area.households, Area.residents, Area.dedicated_kind,
                 Area.geometry)


def area_features(conn: Connection, scope_path: str, level: str) -> dict:
    """Return a GeoJSON FeatureCollection of one level's areas inside a scope (coarse levels simplified)."""
    rows = conn.execute(select(*_FEATURE_COLS).where(subtree(Area.path, scope_path), Area.level == level)
                        .order_by(Area.code)).all()
    return _features(rows, SIMPLIFY.get(level, 0.0))


def features_by_codes(conn: Connection, codes: list[str]) -> dict:
    """Return a GeoJSON FeatureCollection of the areas with these codes, in code order (full detail)."""
    rows = []
    for start in range(0, len(codes), 900):
        rows.extend(conn.execute(select(*_FEATURE_COLS).where(Area.code.in_(codes[start:start + 900]))).all())
    return _features(sorted(rows, key=lambda r: r.code))



def latest_events(conn: Connection, scope_path: str, limit: int = 15) -> list[dict]:
    """Return the newest events of a scope, newest first, for the event list."""
    query = (select(Event.id, Event.source, Event.channel, Event.title, Event.address, Event.status,
                    Event.severity, Event.reported_at, Event.due_at, Category.name.label("category"))
             .join(Category, Category.code == Event.category_code)
             .where(counted_events(scope_path))
             .order_by(Event.reported_at.desc(), Event.id.desc()).limit(limit))
    if conn.dialect.name == "sqlite" and _many_events(conn, scope_path):
        # A scope with many events: walking the time index from the newest finds the first `limit` at
        # once, where SQLite (no statistics) would read the whole subtree by area_path and sort it
        # (~200 ms for a sub-district of 76,000 events; under 1 ms this way).
        query = query.with_hint(Event, "INDEXED BY ix_event_reported_at", "sqlite")
    return [dict(r._mapping) for r in conn.execute(query).all()]


MANY_EVENTS = 2000  # below this a scope's events are read by area and sorted (a few ms)


def _many_events(conn: Connection, scope_path: str) -> bool:
    """True when a scope holds at least MANY_EVENTS events (counted up to there, by the area index)."""
    inner = select(Event.id).where(subtree(Event.area_path, scope_path)).limit(MANY_EVENTS).subquery()
    return conn.execute(select(func.count()).select_from(inner)).scalar() >= MANY_EVENTS


def area_chain(conn: Connection, path: str) -> list[AreaRef]:
    """The area and its ancestors from the city down, for a breadcrumb."""
    codes = [c for c in path.strip("/").split("/") if c]
    rows = conn.execute(select(*_REF_COLS).where(Area.code.in_(codes))).all()
    by_code = {r.code: _ref(r) for r in rows}
    return [by_code[c] for c in codes if c in by_code]


def events_by_ids(conn: Connection, ids: list[int]) -> list[dict]:
    """Location, title and category of events (for markers and warning lists)."""
    out = []
    for start in range(0, len(ids), 900):
        rows = conn.execute(select(Event.id, Event.lon, Event.lat, Event.title, Event.severity,
                                   Event.status, Event.reported_at, Event.due_at,
                                   Category.name.label("category"))
                            .join(Category, Category.code == Event.category_code)
                            .where(Event.id.in_(ids[start:start + 900]))).all()
        out.extend(dict(r._mapping) for r in rows)
    return out


def event_detail(conn: Connection, event_id: int) -> dict | None:
    """One event with its category, area chain, full audit history (oldest change first) and the names
    of the departments that history mentions (`department_names`, code → name)."""
    from ..models import Department, EventAudit, Intake, Staff
    from .photos import photos_of

    row = conn.execute(select(*Event.__table__.columns, Category.name.label("category"),
                              Intake.at.label("intake_at"), Intake.actor.label("intake_actor"))
                       .join(Category, Category.code == Event.category_code)
                       .outerjoin(Intake, Intake.id == Event.intake_id)
                       .where(Event.id == event_id)).first()
    if row is None:
        return None
    detail = dict(row._mapping)
    intake_at, intake_actor = detail.pop("intake_at"), detail.pop("intake_actor")
    detail["chain"] = [a.name for a in area_chain(conn, detail["area_path"])] if detail["area_path"] else []
    detail["area_geometry"] = conn.execute(select(Area.geometry).where(Area.id == detail["area_id"])).scalar() \
        if detail["area_id"] else None
    history = [dict(r._mapping) for r in conn.execute(
        select(EventAudit.at, EventAudit.actor, EventAudit.action, EventAudit.field,
               EventAudit.from_value, EventAudit.to_value, EventAudit.note)
        .where(EventAudit.event_id == event_id).order_by(EventAudit.at, EventAudit.id))]
    detail["history"] = ([intake_entry(detail, intake_at, intake_actor, history)]
                         if intake_actor is not None else []) + history
    detail["assignee"] = conn.execute(select(Staff.name).where(
        Staff.id == detail["assignee_staff_id"])).scalar() if detail["assignee_staff_id"] else None
    codes = {c for h in history if h["field"] == "departments" for v in (h["from_value"], h["to_value"])
             for c in (v or "").split(",") if c} | ({detail["assignee_department_code"]} - {None})
    detail["department_names"] = dict(conn.execute(select(Department.code, Department.name)
                                                   .where(Department.code.in_(codes))).all()) if codes else {}
    detail["photos"] = photos_of(conn, event_id)
    return detail


def intake_entry(event: dict, at, actor: str, history: list[dict]) -> dict:
    """The 接入 history entry of an event a feed batch created: when, by which feed, in what state.

    The state it arrived in is the first recorded status change's starting point (or today's status).
    """
    first = next((h["from_value"] for h in history if h["field"] == "status"), None)
    return {"at": at, "actor": actor, "action": "接入", "field": "status", "from_value": None,
            "to_value": first or event["status"],
            "note": "事件位于所有网格之外" if event["outside_grid"] else None}


def community_names(conn: Connection) -> dict[str, str]:
    """Name of every community, by area code (labels for lists of community codes)."""
    return dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())


def event_status(conn: Connection, event_id: int) -> str | None:
    """The workflow state of one event, or None when it does not exist."""
    return conn.execute(select(Event.status).where(Event.id == event_id)).scalar()


def event_ids_in_scope(conn: Connection, principal, ids: list[int]) -> list[int]:
    """The subset of event ids whose area lies inside `principal`'s scope (unknown ids are dropped)."""
    from ..core.access import scope_condition

    if not ids:
        return []
    return list(conn.execute(select(Event.id).where(Event.id.in_(ids),
                                                    scope_condition(principal, Event.area_path))).scalars())


def reporter_contact(conn: Connection, event_id: int):
    """The unmasked (reporter_name, reporter_phone) row of one event, or None when it does not exist.

    Personal data: callers check the principal's `unmask` permission and scope, and log the access."""
    return conn.execute(select(Event.reporter_name, Event.reporter_phone).where(Event.id == event_id)).first()
