"""核实 of citizens' and riders' reports, and riders' 积分 for reports found 属实.

Where the category asks for it (`verify: true` in taxonomy.yaml) a report from a citizen or rider
feed (participation.yaml) cannot be dispatched from 信息收集: the community first verifies it —
核实立案 (属实, → 问题发现) or 退回 (不属实). Either step records who verified and when. A report
found 属实 earns the rider who made it (a 流动微网格员 whose phone is the reporter's) the points of
participation.yaml, once; a report found 不属实 earns nothing.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection

from ..models import Area, Event, EventAudit, RiderPoints, Staff, Verification
from .participation import load_participation
from ..core.privacy import mask_phone
from ..core.scope import subtree
from ..core.taxonomy import load_taxonomy

RIDER_ROLE = "mobile_worker"
VERDICT = {True: "属实", False: "不属实"}


def needs_verification(source: str, category_code: str) -> bool:
    """Whether a report of this feed and category must be 核实 before dispatch (rules as data)."""
    cat = load_taxonomy().categories.get(category_code)
    return bool(cat and cat.verify and source in load_participation().verify_sources)


def dispatch_problem(conn: Connection, event_id: int) -> str | None:
    """Why an event may not be dispatched yet for want of 核实 (Chinese), or None."""
    ev = conn.execute(select(Event.status, Event.source, Event.category_code).where(Event.id == event_id)).first()
    if ev is None or ev.status != "collect" or not needs_verification(ev.source, ev.category_code):
        return None
    name = load_taxonomy().categories[ev.category_code].name
    return f"群众或骑手上报的“{name}”须先核实：请先点“核实属实（立案）”，再派单"


def rider_of(conn: Connection, event_id: int):
    """The rider (流动微网格员) who made a report, matched by the reporter's phone; None for others."""
    phone = conn.execute(select(Event.reporter_phone).where(Event.id == event_id)).scalar()
    if not phone:
        return None
    return conn.execute(select(Staff.id, Staff.name, Area.path).join(Area, Area.id == Staff.area_id)
                        .where(Staff.phone == phone.strip(), Staff.role == RIDER_ROLE)
                        .order_by(Staff.id).limit(1)).first()


def record(conn: Connection, event_id: int, verdict: bool, actor: str, now: datetime, note: str | None = None) -> int:
    """Record the 核实 of a report (once) and award its rider's points when 属实; return the points awarded."""
    if conn.execute(select(Verification.event_id).where(Verification.event_id == event_id)).first():
        return 0
    rider = rider_of(conn, event_id)
    conn.execute(insert(Verification), [{"event_id": event_id, "verdict": bool(verdict), "verified_by": actor[:60],
                                         "verified_at": now, "note": note,
                                         "reporter_staff_id": rider.id if rider else None}])
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor[:60], "action": "核实",
                                       "field": "核实结果", "from_value": None, "to_value": VERDICT[bool(verdict)],
                                       "note": note}])
    if not verdict or rider is None:
        return 0
    return award(conn, event_id, rider, actor, now)


def award(conn: Connection, event_id: int, rider, actor: str, now: datetime) -> int:
    """Give a rider the points of one verified report, unless that report has earned points already."""
    if conn.execute(select(RiderPoints.id).where(RiderPoints.event_id == event_id)).first():
        return 0
    severity = conn.execute(select(Event.severity).where(Event.id == event_id)).scalar()
    points = load_participation().points_for(severity)
    if points <= 0:
        return 0
    conn.execute(insert(RiderPoints), [{"staff_id": rider.id, "event_id": event_id, "points": points,
                                        "reason": "上报经核实属实", "area_path": rider.path, "awarded_at": now,
                                        "awarded_by": actor[:60]}])
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor[:60], "action": "积分",
                                       "field": "骑手积分", "from_value": None, "to_value": f"+{points}",
                                       "note": f"骑手 {rider.name}"}])
    return points


def verification_of(conn: Connection, event_id: int):
    """The 核实 record of an event (verdict, by whom, when), or None."""
    return conn.execute(select(Verification.__table__).where(Verification.event_id == event_id)).first()


def leaderboard(conn: Connection, area_path: str, start: datetime | None = None,
                end: datetime | None = None) -> list[dict]:
    """Riders of an area (community) by points earned in [start, end): rank, name, reports, points."""
    cond = [RiderPoints.staff_id == Staff.id]
    if start is not None:
        cond.append(RiderPoints.awarded_at >= start)
    if end is not None:
        cond.append(RiderPoints.awarded_at < end)

    rows = conn.execute(select(Staff.id, Staff.name, Staff.phone, Area.name.label("area"),
                               func.count(RiderPoints.id).label("reports"),
                               func.coalesce(func.sum(RiderPoints.points), 0).label("points"),
                               func.max(RiderPoints.awarded_at).label("last_at"))
                        .join(Area, Area.id == Staff.area_id)
                        .outerjoin(RiderPoints, and_(*cond))
                        .where(Staff.role == RIDER_ROLE, subtree(Area.path, area_path))
                        .group_by(Staff.id, Staff.name, Staff.phone, Area.name)).all()
    board = sorted((dict(r._mapping) for r in rows), key=lambda r: (-r["points"], -r["reports"], r["id"]))
    for i, r in enumerate(board, 1):
        r["rank"] = i
        r["phone"] = mask_phone(r["phone"])
    return board


EXPORT_HEADER = ["名次", "骑手编号", "姓名", "电话（脱敏）", "所在区域", "核实属实上报（件）", "积分", "最近得分时间"]


def export_csv(board: list[dict], fmt_time) -> str:
    """The leaderboard as CSV for the 兑换 desk (UTF-8 with BOM so Excel reads the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(EXPORT_HEADER)
    for r in board:
        w.writerow([r["rank"], r["id"], r["name"], r["phone"], r["area"], r["reports"], r["points"],
                    fmt_time(r["last_at"]) if r["last_at"] else ""])
    return out.getvalue()
