"""Filtered, sorted, paged event lists for the laptop view and its CSV/Excel export."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from ..figures.kpis import counted_events
from ..models import Area, Category, Event
from ..core.scope import subtree
from ..core.timeutil import format_local, to_utc_naive
from ..core.workflow import SEVERITIES, STATES

SORTABLE = {"reported_at": Event.reported_at, "due_at": Event.due_at, "status": Event.status,
            "category": Category.name, "severity": Event.severity, "source": Event.source}
EXPORT_COLUMNS = [("id", "事件ID"), ("reported", "上报时间"), ("source", "来源"), ("source_key", "源系统编号"),
                  ("category", "类别"), ("title", "标题"), ("community", "社区"), ("address", "地址"),
                  ("status", "状态"), ("severity", "等级"), ("due", "办理时限"), ("closed", "办结时间"),
                  ("satisfaction", "满意度")]
MAX_EXPORT = 100_000


@dataclass(frozen=True)
class EventFilter:
    """What the leader filters by; every field optional."""

    start: date | None = None
    end: date | None = None
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()   # minor codes or major (2-digit) codes
    communities: tuple[str, ...] = ()  # community codes
    statuses: tuple[str, ...] = ()
    text: str = ""
    extra: dict = field(default_factory=dict)


def _conditions(scope_path: str, f: EventFilter, community_paths: dict[str, str]):
    conds = [counted_events(scope_path)]
    if f.start:
        conds.append(Event.reported_at >= to_utc_naive(datetime.combine(f.start, datetime.min.time())))
    if f.end:
        conds.append(Event.reported_at < to_utc_naive(datetime.combine(f.end + timedelta(days=1),
                                                                         datetime.min.time())))
    if f.sources:
        conds.append(Event.source.in_(f.sources))
    if f.categories:
        conds.append(or_(*[Event.category_code.startswith(c) if len(c) == 2 else Event.category_code == c
                           for c in f.categories]))
    if f.communities:
        conds.append(or_(*[subtree(Event.area_path, community_paths[c]) for c in f.communities
                           if c in community_paths] or [Event.id < 0]))
    if f.statuses:
        conds.append(Event.status.in_(f.statuses))
    if f.text.strip():
        like = f"%{f.text.strip()[:50]}%"
        conds.append(or_(Event.title.like(like), Event.description.like(like), Event.address.like(like),
                         Event.source_key.like(like)))
    return and_(*conds)


def community_paths(conn: Connection, scope_path: str) -> dict[str, str]:
    """Code → path of the communities inside a scope."""
    return dict(conn.execute(select(Area.code, Area.path).where(subtree(Area.path, scope_path),
                                                                Area.level == "community")).all())


def search_events(conn: Connection, scope_path: str, f: EventFilter, sort: str = "reported_at",
                  descending: bool = True, page: int = 0, page_size: int = 25) -> tuple[list[dict], int]:
    """One page of matching events (display-ready rows, `source` as its code) and the total number of matches."""
    where = _conditions(scope_path, f, community_paths(conn, scope_path))
    total = conn.execute(select(func.count()).select_from(Event).where(where)).scalar_one()
    col = SORTABLE.get(sort, Event.reported_at)
    rows = conn.execute(_select().where(where).order_by(col.desc() if descending else col.asc(),
                                                        Event.id.desc())
                        .offset(max(0, page) * page_size).limit(page_size)).all()
    names = _community_names(conn, scope_path)
    return [_display(r, names) for r in rows], int(total)


def export_rows(conn: Connection, scope_path: str, f: EventFilter):
    """Every matching event (up to MAX_EXPORT), newest first, as display rows."""
    where = _conditions(scope_path, f, community_paths(conn, scope_path))
    names = _community_names(conn, scope_path)
    for r in conn.execute(_select().where(where).order_by(Event.reported_at.desc()).limit(MAX_EXPORT)):
        yield _display(r, names)


def _select():
    return (select(Event.id, Event.reported_at, Event.source, Event.source_key, Event.title, Event.address,
                   Event.status, Event.severity, Event.due_at, Event.closed_at, Event.satisfaction,
                   Event.area_path, Category.name.label("category"))
            .join(Category, Category.code == Event.category_code))


def _community_names(conn, scope_path) -> dict[str, str]:
    return dict(conn.execute(select(Area.code, Area.name).where(subtree(Area.path, scope_path),
                                                                Area.level == "community")).all())


def _display(r, names: dict[str, str]) -> dict:
    parts = (r.area_path or "").strip("/").split("/")
    community = next((names[p] for p in parts if p in names), "网格外" if not r.area_path else "")
    return {"id": r.id, "reported": format_local(r.reported_at, "%Y-%m-%d %H:%M"),
            "source": r.source, "source_key": r.source_key,  # a code: the web layer names it
            "category": r.category, "title": r.title, "community": community, "address": r.address,
            "status": STATES.get(r.status, r.status), "severity": SEVERITIES.get(r.severity, ""),
            "due": format_local(r.due_at, "%Y-%m-%d %H:%M"),
            "closed": format_local(r.closed_at, "%Y-%m-%d %H:%M") if r.closed_at else "",
            "satisfaction": r.satisfaction or ""}


def spreadsheet_safe(value) -> object:
    """Neutralise cells a spreadsheet would run as formulas (CSV/Excel injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
