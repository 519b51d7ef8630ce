"""吹哨报到: a whistled department 报到s (reports in) by a deadline, replies, or hands the matter back.

A whistle is one (event, department) request. Each action is one conditional UPDATE (two clicks or
two people cannot both win) and one row of the event's history, in Chinese. Deadlines come from
participation.yaml by the event's severity; an overdue 报到 colours the event's warning
(governance.alerts.warning_eval asks `overdue_counts`).
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..models import Area, Department, Event, EventAudit, Whistle
from ..core.scope import subtree
from ..core.timeutil import format_local
from ..core.workflow import OPEN_STATES

STATUS = {"pending": "待报到", "checked_in": "已报到", "replied": "已回复", "handed_back": "已退回"}
OPEN = ("pending", "checked_in")
MAX_TEXT = 1000


class WhistleError(ValueError):
    """A 报到 action that cannot happen; the message says why (Chinese, for the person)."""


def _audit(conn, event_id, now, actor, action, dept, note):
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor[:60], "action": action,
                                       "field": "departments", "from_value": None, "to_value": dept, "note": note}])


def open_whistles(conn: Connection, event_id: int, departments: tuple[str, ...], actor: str, now: datetime) -> list[int]:
    """Whistle departments in on an event: a 报到 request each (deadline by severity), one history row.

    A department with a whistle on the event still open is not whistled twice. Returns the new ids.
    """
    ev = conn.execute(select(Event.severity, Event.area_path).where(Event.id == event_id)).one()
    busy = set(conn.execute(select(Whistle.department_code).where(
        Whistle.event_id == event_id, Whistle.status.in_(OPEN))).scalars())
    new = [d for d in dict.fromkeys(departments) if d not in busy]
    if not new:
        return []
    from .department_settings import effective_participation  # 报到 limits as changed in the console (#22)

    due = effective_participation(conn).report_deadline(ev.severity, now)
    conn.execute(insert(Whistle), [{"event_id": event_id, "department_code": d, "area_path": ev.area_path,
                                    "status": "pending", "created_at": now, "created_by": actor[:60], "due_at": due}
                                   for d in new])
    _audit(conn, event_id, now, actor, "吹哨报到", ",".join(new), f"请于 {format_local(due)} 前报到")
    return list(conn.execute(select(Whistle.id).where(Whistle.event_id == event_id, Whistle.created_at == now,
                                                      Whistle.department_code.in_(new))).scalars())


def _row(conn, whistle_id, department: str | None):
    row = conn.execute(select(Whistle.__table__).where(Whistle.id == whistle_id)).first()
    if row is None or (department is not None and row.department_code != department):
        raise WhistleError("该报到请求不存在或不属于本部门")
    return row


def _move(conn, row, from_states, values, problem: str) -> None:
    done = conn.execute(update(Whistle).where(Whistle.id == row.id, Whistle.status.in_(from_states)).values(**values))
    if done.rowcount != 1:
        raise WhistleError(problem)


def check_in(conn: Connection, whistle_id: int, actor: str, now: datetime, department: str | None = None) -> None:
    """报到: the department confirms it has taken the matter up (only once, only while pending)."""
    row = _row(conn, whistle_id, department)
    _move(conn, row, ("pending",), {"status": "checked_in", "checked_in_at": now, "checked_in_by": actor[:60]},
          f"该请求当前为“{STATUS.get(row.status, row.status)}”，不能再报到")
    late = "（超时）" if now > row.due_at else ""
    _audit(conn, row.event_id, now, actor, "部门报到", row.department_code, f"已报到{late}")


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WhistleError(f"请填写{what}")
    if len(value.strip()) > MAX_TEXT:
        raise WhistleError(f"{what}不能超过 {MAX_TEXT} 个字")
    return value.strip()


def reply(conn: Connection, whistle_id: int, text, actor: str, now: datetime, department: str | None = None) -> None:
    """回复: the department's answer on the matter; a reply before 报到 counts as 报到 at the same moment."""
    text = _text(text, "回复内容")
    row = _row(conn, whistle_id, department)
    values = {"status": "replied", "replied_at": now, "reply": text}
    if row.checked_in_at is None:
        values.update(checked_in_at=now, checked_in_by=actor[:60])
    _move(conn, row, OPEN, values, f"该请求当前为“{STATUS.get(row.status, row.status)}”，不能回复")
    _audit(conn, row.event_id, now, actor, "部门回复", row.department_code, text)


def hand_back(conn: Connection, whistle_id: int, reason, actor: str, now: datetime,
              department: str | None = None) -> None:
    """退回: the department says the matter is not theirs; a reason is required."""
    reason = _text(reason, "退回原因")
    row = _row(conn, whistle_id, department)
    _move(conn, row, OPEN, {"status": "handed_back", "handed_back_at": now, "hand_back_reason": reason},
          f"该请求当前为“{STATUS.get(row.status, row.status)}”，不能退回")
    _audit(conn, row.event_id, now, actor, "部门退回", row.department_code, reason)


def overdue_counts(conn: Connection, scope_path: str, now: datetime) -> dict[int, int]:
    """Open event id → how many of its whistled departments are past their 报到 deadline without 报到."""
    return dict(conn.execute(select(Whistle.event_id, func.count()).join(Event, Event.id == Whistle.event_id).where(
        Whistle.status == "pending", Whistle.due_at < now, subtree(Whistle.area_path, scope_path),
        Event.status.in_(OPEN_STATES)).group_by(Whistle.event_id)).all())


def department_requests(conn: Connection, department: str, condition=None, limit: int = 200) -> list[dict]:
    """A department's 报到 requests (open first, then newest) with their event's title and address."""
    rows = conn.execute(select(Whistle.id, Whistle.event_id, Whistle.status, Whistle.created_at, Whistle.due_at,
                               Whistle.checked_in_at, Whistle.replied_at, Whistle.reply, Whistle.hand_back_reason,
                               Event.title, Event.address, Event.category_code, Event.description,
                               Area.name.label("grid"))
                        .join(Event, Event.id == Whistle.event_id).outerjoin(Area, Area.id == Event.area_id)
                        .where(Whistle.department_code == department,
                               *([condition] if condition is not None else []))
                        .order_by(Whistle.status.notin_(OPEN), Whistle.created_at.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def whistle_rows(conn: Connection, condition, start: datetime, end: datetime) -> list[dict]:
    """Whistles made in [start, end] (up to and including `end`, usually now) matching `condition`, for
    `response_figures`."""
    rows = conn.execute(select(Whistle.department_code, Whistle.created_at, Whistle.due_at, Whistle.checked_in_at,
                               Whistle.replied_at, Whistle.status)
                        .where(condition, Whistle.created_at >= start, Whistle.created_at <= end)).all()
    return [dict(r._mapping) for r in rows]


def _median_minutes(values) -> float | None:
    values = [v.total_seconds() / 60 for v in values]
    return round(statistics.median(values), 1) if values else None


def response_figures(rows: list[dict], now: datetime, names: dict[str, str] | None = None) -> list[dict]:
    """部门响应 per department: whistled, 报到率, 按时报到率, median minutes to 报到 and to reply, overdue, handed back.

    报到率 is the share of whistles that were 报到'd at all; 按时报到率 those by their deadline.
    """
    groups: dict[str, list] = defaultdict(list)
    for r in rows:
        groups[r["department_code"]].append(r)
    out = []
    for code, items in groups.items():
        checked = [r for r in items if r["checked_in_at"] is not None]
        out.append({
            "department": code, "name": (names or {}).get(code, code), "whistled": len(items),
            "checked_in": len(checked),
            "report_rate": round(len(checked) / len(items), 3),
            "on_time_rate": round(sum(r["checked_in_at"] <= r["due_at"] for r in checked) / len(items), 3),
            "median_report_minutes": _median_minutes(r["checked_in_at"] - r["created_at"] for r in checked),
            "median_reply_minutes": _median_minutes(r["replied_at"] - r["created_at"] for r in items
                                                    if r["replied_at"] is not None),
            "overdue": sum(r["status"] == "pending" and r["due_at"] < now for r in items),
            "handed_back": sum(r["status"] == "handed_back" for r in items)})
    return sorted(out, key=lambda r: (r["report_rate"], -(r["median_report_minutes"] or 0)))


def department_names(conn: Connection) -> dict[str, str]:
    """Department code → name."""
    return dict(conn.execute(select(Department.code, Department.name)).all())
