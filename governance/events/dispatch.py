"""一键启动办理: suggest who should handle an event, dispatch it once, and run the five-step loop."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from ..figures import rollups

from . import task_links

from . import verification

from . import whistles
from ..models import Area, Department, Event, EventAudit, Shift, Staff
from ..core.taxonomy import load_taxonomy
from ..core.timeutil import to_local
from ..core.workflow import STATES, TRANSITIONS, TransitionError, check_transition

DISPATCHABLE = ("collect", "discover")
# The worker's own steps (what a task link may do): to-state → the state it must come from.
WORKER_STEPS = {"handle": "assign", "feedback": "handle"}
# Steps after which the assignee has nothing left to do with the link: it is revoked.
LINK_ENDS = ("discover", "closed", "returned")
NOT_ON_CHAIN = "所选人员不在该事件所在的微网格、网格、社区或街道，不能承办"


class DispatchError(ValueError):
    """A dispatch or step that cannot happen; the message says why (in Chinese, for the user)."""


@dataclass
class Suggestion:
    """A ranked candidate with the reasons behind its score."""

    staff_id: int
    name: str
    role: str
    score: float
    reasons: list[str] = field(default_factory=list)


def on_duty(shift: Shift, now: datetime) -> bool:
    """Whether a shift covers the Asia/Shanghai moment `now` (naive UTC)."""
    local = to_local(now)
    if str(local.isoweekday()) not in shift.weekdays:
        return False
    hm = local.strftime("%H:%M")
    return shift.start <= hm < shift.end


def _km(lon1, lat1, lon2, lat2) -> float:
    dx = (lon2 - lon1) * 111.32 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * 110.54)


def own_chain(area_path: str | None) -> dict[str, str | None]:
    """The areas whose staff may handle an event: its micro-grid, general grid, community, sub-district."""
    codes = [c for c in (area_path or "").strip("/").split("/") if c]
    return {"micro_grid": codes[-1] if len(codes) >= 6 else None,
            "general_grid": codes[-2] if len(codes) >= 6 else None,
            "community": codes[3] if len(codes) >= 4 else None,
            "subdistrict": codes[2] if len(codes) >= 3 else None}


def check_assignee(conn: Connection, area_path: str | None, staff_id) -> str:
    """The staff member's name when their area is on the event's own chain; else DispatchError.

    The refusal never names the person (staff ids are sequential: a message with the name would let
    anyone with dispatch rights list every worker of the city), and an unknown id reads the same.
    """
    if not isinstance(staff_id, int) or isinstance(staff_id, bool):
        raise DispatchError(NOT_ON_CHAIN)
    if not area_path:
        raise DispatchError("事件位于网格之外，请先核定所属网格再派单")
    codes = [c for c in own_chain(area_path).values() if c]
    name = conn.execute(select(Staff.name).join(Area, Area.id == Staff.area_id)
                        .where(Staff.id == staff_id, Area.code.in_(codes))).scalar()
    if name is None:
        raise DispatchError(NOT_ON_CHAIN)
    return name


def check_departments(category_code: str, departments) -> tuple[str, ...]:
    """The departments to whistle in, each one the event category's (taxonomy); else DispatchError."""
    cat = load_taxonomy().categories.get(category_code)
    allowed = cat.departments if cat else ()
    departments = tuple(departments or ())
    wrong = [d for d in departments if not isinstance(d, str) or d not in allowed]
    if wrong:
        what = f"“{cat.name}”" if cat else "该类别"
        raise DispatchError(f"所选部门不是{what}的吹哨报到部门")
    return departments


def suggest_assignees(conn: Connection, event_id: int, now: datetime,
                      limit: int = 6) -> tuple[list[Suggestion], list[dict]]:
    """Ranked staff (属地 first, on duty, light workload, near) and departments to whistle in."""
    ev = conn.execute(select(Event.area_path, Event.category_code, Event.lon, Event.lat)
                      .where(Event.id == event_id)).one_or_none()
    if ev is None:
        raise DispatchError(f"事件 {event_id} 不存在")
    own = own_chain(ev.area_path)
    cat = load_taxonomy().categories[ev.category_code]
    rows = conn.execute(
        select(Staff.id, Staff.name, Staff.role, Staff.specialty, Area.code, Area.level, Area.centroid_lon,
               Area.centroid_lat, Shift.code.label("shift_code"), Shift.weekdays, Shift.start, Shift.end,
               Shift.name.label("shift_name"))
        .join(Area, Area.id == Staff.area_id).join(Shift, Shift.code == Staff.shift_code)
        .where(Area.code.in_([c for c in own.values() if c]))).all()
    load = dict(conn.execute(select(Event.assignee_staff_id, func.count()).where(
        Event.status.in_(("assign", "handle")), Event.assignee_staff_id.in_([r.id for r in rows]))
        .group_by(Event.assignee_staff_id)).all()) if rows else {}
    weights = {"micro_grid": (50, "属地微网格员"), "general_grid": (40, "属地网格员"),
               "community": (25, "社区网格长/流动网格员"), "subdistrict": (10, "街道下沉专员")}
    out = []
    for r in rows:
        base, why = weights[r.level]
        reasons = [why]
        score = float(base)
        if r.role == "specialist" and cat.family != "safety" and "执法" not in (r.specialty or ""):
            continue
        if r.role == "specialist":
            reasons.append(f"专长：{r.specialty}")
        shift = Shift(code=r.shift_code, name=r.shift_name, weekdays=r.weekdays, start=r.start, end=r.end)
        if on_duty(shift, now):
            score += 20
            reasons.append(f"当前在岗（{r.shift_name} {r.start}–{r.end}）")
        else:
            reasons.append(f"当前不在岗（{r.shift_name}）")
        n = load.get(r.id, 0)
        score -= 2 * n
        reasons.append(f"在办任务 {n} 件")
        if ev.lon is not None:
            km = _km(ev.lon, ev.lat, r.centroid_lon, r.centroid_lat)
            score -= 5 * km
            reasons.append(f"距离约 {km * 1000:.0f} 米")
        out.append(Suggestion(r.id, r.name, r.role, round(score, 1), reasons))
    out.sort(key=lambda s: -s.score)
    depts = []
    if cat.departments:
        from .department_settings import disabled_departments  # departments an admin disabled (#22)

        off = disabled_departments(conn)
        names = dict(conn.execute(select(Department.code, Department.name)
                                  .where(Department.code.in_(cat.departments))).all())
        depts = [{"code": c, "name": names.get(c, c), "reason": f"“{cat.name}”需吹哨报到"} for c in cat.departments
                 if c not in off]
    return out[:limit], depts


def _audit(conn, event_id, now, actor, action, field_name, old, new, note=None):
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor, "action": action,
                                       "field": field_name, "from_value": old, "to_value": new, "note": note}])


def dispatch(conn: Connection, event_id: int, staff_id: int, actor: str, now: datetime,
             departments: tuple[str, ...] = (), due_at: datetime | None = None) -> str:
    """Dispatch once: → 任务分办 with assignee and deadline, audited, task link minted, notification queued.

    The assignee must work on the event's own chain (its micro-grid, general grid, community or
    sub-district) and the departments must be its category's; otherwise DispatchError and nothing
    is written. The status change is a single conditional UPDATE, so when two leaders (or a double
    click) dispatch the same event at once exactly one succeeds; the other gets a DispatchError
    naming who dispatched it. Returns the raw token of the assignee's task link (shown once).
    """
    ev = conn.execute(select(Event.status, Event.due_at, Event.is_drill, Event.area_path, Event.category_code)
                      .where(Event.id == event_id)).one_or_none()
    if ev is None:
        raise DispatchError(f"事件 {event_id} 不存在")
    unverified = verification.dispatch_problem(conn, event_id)
    if unverified:
        raise DispatchError(unverified)
    staff = check_assignee(conn, ev.area_path, staff_id)
    departments = check_departments(ev.category_code, departments)
    from .department_settings import disabled_departments

    if set(departments) & disabled_departments(conn):
        raise DispatchError(f"部门已停用，不能吹哨：{'、'.join(sorted(set(departments) & disabled_departments(conn)))}")
    dept = departments[0] if departments else None
    if due_at is not None and due_at != ev.due_at:
        rollups.mark_events(conn, [event_id])  # the deadline moves: the day it leaves is recomputed too
    won = conn.execute(update(Event).where(Event.id == event_id, Event.status.in_(DISPATCHABLE)).values(
        status="assign", assignee_staff_id=staff_id, assignee_department_code=dept, dispatched_at=now,
        accepted_at=None, due_at=due_at or ev.due_at, updated_at=now)).rowcount
    if won != 1:
        raise DispatchError(already_dispatched_message(conn, event_id))
    _audit(conn, event_id, now, actor, "派单", "status", ev.status, "assign", f"承办人：{staff}")
    rollups.mark_events(conn, [event_id])
    if departments:
        whistles.open_whistles(conn, event_id, departments, actor, now)
    token = task_links.mint(conn, event_id, staff_id, now, actor)
    task_links.notify(conn, event_id, staff_id, token, now, "新任务")
    return token


def already_dispatched_message(conn: Connection, event_id: int) -> str:
    """Who dispatched an event and when (for the leader who lost a dispatch race)."""
    last = conn.execute(select(EventAudit.actor, EventAudit.at).where(
        EventAudit.event_id == event_id, EventAudit.action.in_(("派单", "改派"))).order_by(
        EventAudit.id.desc()).limit(1)).first()
    status = conn.execute(select(Event.status).where(Event.id == event_id)).scalar()
    if last:
        return f"该事件已由 {last.actor} 于 {to_local(last.at):%m-%d %H:%M} 派单（当前：{STATES.get(status, status)}）"
    return f"该事件当前为“{STATES.get(status, status)}”，不能派单"


STEP_FIELDS = {"handle": "accepted_at", "closed": "closed_at"}


class Step(str):
    """The action label of a step (a plain str to callers); `link` is the raw task link a 改派 minted."""

    link: str | None = None


def advance(conn: Connection, event_id: int, to_state: str, actor: str, now: datetime, note: str | None = None,
            staff_id: int | None = None) -> Step:
    """Move an event one step (签收, 提交结果, 核查办结, 返工, 召回, 改派 …); illegal steps are refused.

    Returns the action label. The UPDATE is conditional on the status just read, so a concurrent
    change makes this call fail cleanly instead of overwriting it. 改派 takes a new assignee from the
    event's own chain (see `dispatch`) and rotates the task link (the label's `.link` is the new
    one); 召回 and 核查办结 revoke it.
    """
    return _step(conn, event_id, to_state, actor, now, note, staff_id)


def worker_advance(conn: Connection, event_id: int, staff_id: int, to_state: str, actor: str, now: datetime,
                   note: str | None = None) -> Step:
    """The assignee's own steps only: 签收 (任务分办 → 协同处置) and 提交结果 (协同处置 → 结果反馈).

    Anything else (核查办结, 召回, 返工, 重新打开 …) is the dispatcher's and is refused; so is a step on
    an event no longer assigned to `staff_id` or no longer in the state the step starts from.
    """
    if not isinstance(to_state, str) or to_state not in WORKER_STEPS:
        raise DispatchError("任务页只能签收、记录进展或提交结果")
    return _step(conn, event_id, to_state, actor, now, note, None, only_from=WORKER_STEPS[to_state],
                 only_assignee=staff_id)


def _step(conn: Connection, event_id: int, to_state: str, actor: str, now: datetime, note: str | None,
          staff_id: int | None, only_from: str | None = None, only_assignee: int | None = None) -> Step:
    if not isinstance(to_state, str):
        raise DispatchError("未知的目标环节")
    ev = conn.execute(select(Event.status, Event.assignee_staff_id, Event.rework_count, Event.area_path)
                      .where(Event.id == event_id)).one_or_none()
    if ev is None:
        raise DispatchError(f"事件 {event_id} 不存在")
    if only_assignee is not None and ev.assignee_staff_id != only_assignee:
        raise DispatchError("该任务已改派给他人")
    if only_from is not None and ev.status != only_from:
        raise DispatchError(f"事件当前为“{STATES.get(ev.status, ev.status)}”，不能{TRANSITIONS[only_from][to_state]}")
    try:
        action = check_transition(ev.status, to_state)
    except TransitionError as exc:
        raise DispatchError(str(exc)) from exc
    values: dict = {"status": to_state, "updated_at": now}
    if to_state in STEP_FIELDS:
        values[STEP_FIELDS[to_state]] = now
    if (ev.status == "feedback" and to_state == "handle") or ev.status == "closed":
        values["rework_count"] = (ev.rework_count or 0) + 1
        values["closed_at"] = None
    if to_state == "assign":
        if staff_id is None:
            raise DispatchError("改派需要选择新的承办人")
        check_assignee(conn, ev.area_path, staff_id)
        values.update(assignee_staff_id=staff_id, dispatched_at=now, accepted_at=None)
    if to_state == "discover":
        values.update(assignee_staff_id=None, dispatched_at=None, accepted_at=None)
    if "closed_at" in values and ev.status == "closed":
        rollups.mark_events(conn, [event_id])  # reopened: the day it had been closed changes too
    where = [Event.id == event_id, Event.status == ev.status]
    if only_assignee is not None:
        where.append(Event.assignee_staff_id == only_assignee)
    done = conn.execute(update(Event).where(*where).values(**values))
    if done.rowcount != 1:
        raise DispatchError("事件状态已被他人更新，请刷新后重试")
    _audit(conn, event_id, now, actor, action, "status", ev.status, to_state, note)
    if ev.status == "collect" and to_state in ("discover", "returned"):  # 核实: 属实 or 不属实
        verification.record(conn, event_id, to_state == "discover", actor, now, note)
    rollups.mark_events(conn, [event_id])
    step = Step(action)
    if to_state == "assign":
        step.link = task_links.mint(conn, event_id, staff_id, now, actor)
        task_links.notify(conn, event_id, staff_id, step.link, now, "改派给你的任务")
    elif to_state in LINK_ENDS:
        task_links.revoke_for_event(conn, event_id, now, actor, reason=action)
    return step


def reissue_link(conn: Connection, event_id: int, actor: str, now: datetime) -> str:
    """A leader's 重新生成任务链接: a new link for the current assignee (the old one stops); the raw token."""
    ev = conn.execute(select(Event.status, Event.assignee_staff_id).where(Event.id == event_id)).one_or_none()
    if ev is None or ev.assignee_staff_id is None or ev.status not in task_links.WORKER_STATES:
        raise DispatchError("只有“任务分办”或“协同处置”中、已有承办人的事件可以生成任务链接")
    token = task_links.mint(conn, event_id, ev.assignee_staff_id, now, actor)
    task_links.notify(conn, event_id, ev.assignee_staff_id, token, now, "任务链接已更新")
    return token


def revoke_link(conn: Connection, event_id: int, actor: str, now: datetime) -> int:
    """A leader's 收回任务链接: the event's live links stop working now; DispatchError when there is none."""
    n = task_links.revoke_for_event(conn, event_id, now, actor, reason="手动收回")
    if not n:
        raise DispatchError("该事件没有有效的任务链接")
    return n


def add_progress(conn: Connection, event_id: int, actor: str, now: datetime, note: str,
                 departments: tuple[str, ...] = (), photo_links: tuple[str, ...] = ()) -> None:
    """协同处置: record progress notes, photo links and departments joining, without a status change."""
    status = conn.execute(select(Event.status).where(Event.id == event_id)).scalar()
    if status != "handle":
        raise DispatchError(f"只有“协同处置”中的事件可以记录进展（当前：{STATES.get(status, status)}）")
    text = note.strip()[:2000]
    if photo_links:
        text += "\n照片：" + " ".join(p for p in photo_links if p.startswith(("http://", "https://")))
    _audit(conn, event_id, now, actor, "处置进展", "note", None, None, text or None)
    if departments:
        _audit(conn, event_id, now, actor, "部门报到", "departments", None, ",".join(departments))
    conn.execute(update(Event).where(Event.id == event_id).values(updated_at=now))


def record_visit(conn: Connection, event_id: int, satisfaction: int, actor: str, now: datetime,
                 note: str | None = None) -> None:
    """回访: the resident's satisfaction (1–5) with a closed event."""
    satisfaction = score_value(satisfaction)
    ev = conn.execute(select(Event.status, Event.satisfaction).where(Event.id == event_id)).one_or_none()
    if ev is None or ev.status != "closed":
        raise DispatchError("只有已办结的事件可以回访")
    conn.execute(update(Event).where(Event.id == event_id).values(satisfaction=int(satisfaction), updated_at=now))
    rollups.mark_events(conn, [event_id])
    _audit(conn, event_id, now, actor, "回访", "satisfaction", str(ev.satisfaction) if ev.satisfaction else None,
           str(int(satisfaction)), note)


def score_value(value) -> int:
    """A satisfaction score 1–5 from what a form sent (int or digits); DispatchError otherwise."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise DispatchError("满意度应为 1–5 分的整数")
    return value


def staff_name(conn: Connection, staff_id: int) -> str | None:
    """The name of one staff member, or None when there is none with that id."""
    return conn.execute(select(Staff.name).where(Staff.id == staff_id)).scalar()


def tasks_of(conn: Connection, staff_id: int) -> list[dict]:
    """A worker's open tasks, the most urgent first."""
    rows = conn.execute(select(Event.id, Event.title, Event.status, Event.due_at, Event.address, Event.description)
                        .where(Event.assignee_staff_id == staff_id, Event.status.in_(("assign", "handle")))
                        .order_by(Event.due_at)).all()
    return [dict(r._mapping) for r in rows]


def bulk_dispatch(conn_factory, event_ids: list[int], actor: str, now: datetime) -> dict:
    """Dispatch many events, each to its best suggestion; one failure never stops the rest."""
    done, failed = [], []
    for eid in event_ids:
        with conn_factory() as conn:
            try:
                best, depts = suggest_assignees(conn, eid, now, limit=1)
                if not best:
                    raise DispatchError("没有可派的属地人员")
                dispatch(conn, eid, best[0].staff_id, actor, now)
                done.append(eid)
            except DispatchError as exc:
                failed.append((eid, str(exc)))
    return {"dispatched": done, "failed": failed}

