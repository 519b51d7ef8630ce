"""网格赶考 (drills): random test events sent to micro-grid workers, response times per grid.

Drill events are ordinary events flagged `is_drill` (source "drill"), so workers handle them on
their task page like real ones; every KPI, warning and list of real events leaves them out.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from . import task_links
from ..models import Area, Event, EventAudit, Staff
from .participation import load_participation
from ..core.scope import subtree
from ..core.timeutil import to_local
from .deadlines import intake_due

DRILL_CATEGORIES = ["2201", "1202", "0102", "1201", "3101"]
DRILL_SOURCE = "drill"


def start_drill(conn: Connection, area_code: str, count: int, actor: str, now: datetime,
                seed: int | None = None, tiers: dict | None = None) -> str:
    """Send `count` drill events to random micro-grids of an area; return the drill id (`tiers`: the warning
    rules' severity tiers in force, for their deadlines)."""
    from ..core.taxonomy import load_taxonomy

    if not 1 <= count <= 200:
        raise ValueError("一次赶考的事件数应在 1–200 之间")
    rules = load_participation()
    if not rules.drill_allowed(now):
        raise ValueError(f"网格赶考只能在 {rules.drill_start}–{rules.drill_end} 之间发起"
                         f"（现在是 {to_local(now):%H:%M}），以免深夜打扰网格员")
    area = conn.execute(select(Area.path, Area.name).where(Area.code == area_code)).one_or_none()
    if area is None:
        raise ValueError(f"未知区域 {area_code}")
    grids = conn.execute(select(Area.id, Area.path, Area.name, Area.centroid_lon, Area.centroid_lat,
                                Staff.id.label("staff_id"))
                         .join(Staff, (Staff.area_id == Area.id) & (Staff.role == "micro_grid_worker"))
                         .where(subtree(Area.path, area.path), Area.level == "micro_grid")).all()
    if not grids:
        raise ValueError("该区域没有配备微网格员的微网格")
    rng = np.random.default_rng(seed)
    drill_id = f"{to_local(now):%Y%m%d%H%M%S}-{int(rng.integers(1000, 9999))}"
    picks = rng.choice(len(grids), size=min(count, len(grids)), replace=False)
    taxonomy = load_taxonomy()
    rows = []
    for i, gi in enumerate(picks):
        g = grids[int(gi)]
        code = DRILL_CATEGORIES[int(rng.integers(len(DRILL_CATEGORIES)))]
        cat = taxonomy.categories[code]
        rows.append({"source": DRILL_SOURCE, "source_key": f"DRILL-{drill_id}-{i:03d}", "channel": "网格赶考",
                     "category_code": code, "title": f"【网格赶考】{cat.name}", "description": "演练事件，请按流程签收处置。",
                     "lon": g.centroid_lon, "lat": g.centroid_lat, "address": g.name, "area_id": g.id,
                     "area_path": g.path, "outside_grid": False, "severity": cat.severity, "status": "assign",
                     "handling_level": "grid", "reported_at": now, "dispatched_at": now, "updated_at": now,
                     "due_at": intake_due(now, cat.severity, None, cat, tiers or {}), "assignee_staff_id": g.staff_id,
                     "is_drill": True})
    conn.execute(insert(Event), rows)
    ids = conn.execute(select(Event.id).where(Event.source == DRILL_SOURCE,
                                              Event.source_key.startswith(f"DRILL-{drill_id}-"))).scalars().all()
    conn.execute(insert(EventAudit), [{"event_id": eid, "at": now, "actor": actor, "action": "赶考派单",
                                       "field": "status", "from_value": None, "to_value": "assign",
                                       "note": f"网格赶考 {drill_id}（{area.name}）"} for eid in ids])
    return drill_id


def list_drills(conn: Connection, condition=None) -> list[dict]:
    """Drills held so far (events matching `condition`, e.g. a role's scope), newest first."""
    prefix_len = len("DRILL-") + 19
    rows = conn.execute(select(func.substr(Event.source_key, 7, prefix_len - 6).label("drill"),
                               func.min(Event.reported_at), func.count())
                        .where(Event.source == DRILL_SOURCE, *([condition] if condition is not None else []))
                        .group_by("drill")
                        .order_by(func.min(Event.reported_at).desc())).all()
    return [{"drill_id": d, "started_at": t, "events": n} for d, t, n in rows]


def drill_report(conn: Connection, drill_id: str, now: datetime, condition=None) -> list[dict]:
    """Per community (of events matching `condition`): sent, accepted, finished, response minutes."""
    rows = conn.execute(select(Event.area_path, Event.dispatched_at, Event.accepted_at, Event.status)
                        .where(Event.source == DRILL_SOURCE, *([condition] if condition is not None else []),
                               Event.source_key.startswith(f"DRILL-{drill_id}-"))).all()
    names = dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r.area_path.strip("/").split("/")[3]].append(r)
    report = []
    for code, items in sorted(groups.items()):
        waits = [(r.accepted_at - r.dispatched_at).total_seconds() / 60 for r in items if r.accepted_at]
        report.append({"community": names.get(code, code), "sent": len(items), "accepted": len(waits),
                       "finished": sum(r.status in ("feedback", "closed") for r in items),
                       "median_minutes": round(statistics.median(waits), 1) if waits else None,
                       "slowest_minutes": round(max(waits), 1) if waits else None,
                       "waiting_minutes": round(max(((now - r.dispatched_at).total_seconds() / 60
                                                     for r in items if not r.accepted_at), default=0), 1)})
    return sorted(report, key=lambda r: (r["accepted"] / r["sent"], -(r["median_minutes"] or 1e9)))


MISSED = "演练超时未签收"


def expire_drills(conn: Connection, now: datetime) -> int:
    """Close drill tasks not 签收 within the expiry (participation.yaml) as missed; return how many."""
    cutoff = now - timedelta(hours=load_participation().drill_expiry_hours)
    ids = list(conn.execute(select(Event.id).where(Event.source == DRILL_SOURCE, Event.status == "assign",
                                                   Event.dispatched_at <= cutoff)).scalars())
    missed = []
    for eid in ids:  # conditional per event: a 签收 arriving at the same moment wins
        done = conn.execute(update(Event).where(Event.id == eid, Event.status == "assign",
                                                Event.accepted_at.is_(None))
                            .values(status="returned", updated_at=now)).rowcount
        if done:
            missed.append(eid)
            task_links.revoke_for_event(conn, eid, now, "系统", reason=MISSED)
    if missed:
        conn.execute(insert(EventAudit), [{"event_id": eid, "at": now, "actor": "系统", "action": MISSED,
                                           "field": "status", "from_value": "assign", "to_value": "returned",
                                           "note": f"派出后 {load_participation().drill_expiry_hours:g} 小时未签收，"
                                                   "按未响应计"} for eid in missed])
    return len(missed)


def worker_results(conn: Connection, drill_id: str, now: datetime, condition=None) -> list[dict]:
    """Per worker of a drill: community, grid, responded, minutes to 签收 and to 提交结果, missed."""
    rows = conn.execute(select(Event.id, Event.area_path, Event.dispatched_at, Event.accepted_at, Event.status,
                               Staff.name.label("worker"), Area.name.label("grid"))
                        .join(Staff, Staff.id == Event.assignee_staff_id, isouter=True)
                        .join(Area, Area.id == Event.area_id, isouter=True)
                        .where(Event.source == DRILL_SOURCE, Event.source_key.startswith(f"DRILL-{drill_id}-"),
                               *([condition] if condition is not None else []))).all()
    ids = [r.id for r in rows]
    submitted = dict(conn.execute(select(EventAudit.event_id, func.min(EventAudit.at)).where(
        EventAudit.event_id.in_(ids), EventAudit.action == "提交结果").group_by(EventAudit.event_id)).all()) if ids else {}
    names = dict(conn.execute(select(Area.code, Area.name).where(Area.level == "community")).all())

    def minutes(later):
        return round((later - r.dispatched_at).total_seconds() / 60, 1) if later else None

    out = []
    for r in rows:
        out.append({"event_id": r.id, "community": names.get(r.area_path.strip("/").split("/")[3], ""),
                    "grid": r.grid or "", "worker": r.worker or "", "responded": r.accepted_at is not None,
                    "accept_minutes": minutes(r.accepted_at), "submit_minutes": minutes(submitted.get(r.id)),
                    "missed": r.status == "returned" and r.accepted_at is None,
                    "waiting_minutes": minutes(now) if r.status == "assign" else None})
    return sorted(out, key=lambda x: (x["community"], x["accept_minutes"] is None, x["accept_minutes"] or 0,
                                      x["worker"]))
