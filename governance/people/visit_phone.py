"""关爱走访 on the worker's phone: the worker's open visits as cards (members masked as the registry masks them)
and one visit recorded from the phone's queue — once, however often the phone sends it.

The phone sends a visit with the time it happened (entered on the phone, in Asia/Shanghai; empty: the moment
it was queued on the phone), a note and the household's needs. The server keeps when it received the visit
(`visit_task.recorded_at`) beside that claimed time, and refuses a claimed time in the future, before the task
was created, or earlier than the receipt by more than the offline allowance (people.yaml `visit_recording`) —
a visit recorded days late cannot claim to be on time. A resend of a visit already recorded by the same worker is answered "already recorded"
and changes nothing (the state is the idempotency key: a visit task is done once). Raising an event from
the visit goes through the push intake (data_sources/visit_events.py), keyed by the task, so it too
happens once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .groups import groups
from ..models import Resident, VisitTask
from ..core.privacy import mask_name
from ..core.timeutil import format_local, to_utc_naive
from .visits import OFFLINE_ALLOWANCE, open_tasks_for_staff, record_visit

FUTURE_SLACK = timedelta(minutes=10)  # a phone clock a little ahead is not an error
MAX_TEXT = 2000


class VisitError(ValueError):
    """A visit the phone sent that cannot be recorded (the message is shown on the phone, in Chinese)."""


@dataclass(frozen=True)
class VisitOutcome:
    """The answer to one visit sent from a phone."""

    message: str
    duplicate: bool = False
    event_id: int | None = None


def phone_visits(conn: Connection, staff_id: int, now: datetime) -> list[dict]:
    """A worker's open visits with the household's members masked (张**) and their special groups."""
    tasks = open_tasks_for_staff(conn, staff_id, now)
    if not tasks:
        return []
    hh = dict(conn.execute(select(VisitTask.id, VisitTask.household_id)
                           .where(VisitTask.id.in_([t["id"] for t in tasks]))).all())
    members: dict[int, list[tuple[str, str]]] = {}
    for r in conn.execute(select(Resident.household_id, Resident.name, Resident.groups)
                          .where(Resident.household_id.in_(set(hh.values())), Resident.closed_at.is_(None))
                          .order_by(Resident.id)):
        members.setdefault(r.household_id, []).append((r.name, r.groups or ""))
    names = groups()
    out = []
    for t in tasks:
        people = members.get(hh.get(t["id"]), [])
        codes = sorted({c for _, g in people for c in g.split(",") if c in names})
        out.append({**t, "household_id": hh.get(t["id"]), "members": [mask_name(n) for n, _ in people],
                    "groups": [names[c] for c in codes]})
    return out


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} 小时"


def parse_visited_at(value, now: datetime, created_at: datetime | None = None,
                     allowance: timedelta = OFFLINE_ALLOWANCE) -> datetime:
    """The visit's claimed time from the phone ('2026-11-20T14:30' Asia/Shanghai, or ISO with an offset) as naive
    UTC; empty means now. VisitError (Chinese) when it is in the future, before the task was created (to the
    minute), or earlier than `now` (its receipt) by more than the offline allowance."""
    if value in (None, ""):
        return now
    try:
        when = to_utc_naive(datetime.fromisoformat(str(value).strip()[:32].replace("Z", "+00:00")))
    except ValueError:
        raise VisitError("走访时间格式不正确") from None
    if when > now + FUTURE_SLACK:
        raise VisitError("走访时间不能晚于现在，请核对手机时间")
    if created_at is not None and when < created_at.replace(second=0, microsecond=0):
        raise VisitError(f"走访时间早于任务下达时间（{format_local(created_at, '%m-%d %H:%M')}），请核对走访时间")
    if when < now - allowance:
        raise VisitError(f"走访时间比提交时间早 {_hours(now - when)}，超过离线补录时限（{_hours(allowance)}），"
                         "不能按该时间记录：请把走访时间改为现在，并在走访情况中写明实际走访日期")
    return when


def record_from_phone(conn: Connection, task_id, staff_id: int, now: datetime, visited_at, note: str,
                      needs: str, actor: str) -> VisitOutcome:
    """Record a visit sent from the worker's phone and received `now` (VisitError: refused, nothing stored)."""
    if not isinstance(task_id, int) or isinstance(task_id, bool):
        raise VisitError("走访任务编号无效")
    task = conn.execute(select(VisitTask.staff_id, VisitTask.done_at, VisitTask.created_at, VisitTask.event_id)
                        .where(VisitTask.id == task_id)).first()
    if task is None or task.staff_id != staff_id:
        raise VisitError("该走访任务不属于你，或已改派")
    if task.done_at is not None:
        return VisitOutcome("走访已记录", duplicate=True, event_id=task.event_id)
    when = parse_visited_at(visited_at, now, task.created_at)
    note, needs = (note or "").strip()[:MAX_TEXT], (needs or "").strip()[:MAX_TEXT]
    if not note:
        raise VisitError("请填写走访情况")
    if not record_visit(conn, task_id, staff_id, when, note, needs, actor, received_at=now):
        return VisitOutcome("走访已记录", duplicate=True)  # recorded by a twin request a moment ago
    return VisitOutcome("走访已记录")
