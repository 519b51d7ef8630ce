"""分级预控: escalate events one handling level when they are not accepted or handled in time."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..models import Event, EventAudit
from ..core.taxonomy import load_taxonomy
from .warnings import Rules
from ..core.workflow import LEVELS, OPEN_STATES

ORDER = list(LEVELS)  # grid → community → subdistrict


class LevelError(ValueError):
    """A handling level change that is not allowed (unknown level, closed event …)."""


def escalation_reason(ev, now: datetime, rules: Rules, sla_hours: float) -> str | None:
    """Why an open event must go up one level now, or None if it may stay where it is."""
    if ev.handling_level == ORDER[-1]:
        return None
    if (ev.status == "assign" and ev.dispatched_at and ev.accepted_at is None
            and now - ev.dispatched_at > timedelta(hours=rules.escalate_not_accepted_hours)):
        return f"派单后 {rules.escalate_not_accepted_hours:g} 小时未签收"
    since = ev.level_since or ev.reported_at
    if rules.escalate_overdue and now - since > timedelta(hours=sla_hours):
        return f"在{LEVELS[ev.handling_level]}层级超过办理时限（{sla_hours:g} 小时）未办结"
    return None


def escalate_due(conn: Connection, now: datetime, rules: Rules, scope_path: str = "/") -> int:
    """Escalate every open event that is overdue at its level; write one audit row each."""
    taxonomy = load_taxonomy()
    rows = conn.execute(select(Event.id, Event.status, Event.handling_level, Event.category_code,
                               Event.reported_at, Event.dispatched_at, Event.accepted_at, Event.level_since)
                        .where(Event.status.in_(OPEN_STATES), Event.handling_level != ORDER[-1],
                               Event.is_drill.is_(False), Event.area_path.startswith(scope_path))).all()
    changes, audits = [], []
    for ev in rows:
        cat = taxonomy.categories.get(ev.category_code)
        reason = escalation_reason(ev, now, rules, cat.sla_hours if cat else 72)
        if reason is None:
            continue
        new = ORDER[ORDER.index(ev.handling_level) + 1]
        changes.append({"_id": ev.id, "_level": new})
        audits.append({"event_id": ev.id, "at": now, "actor": "系统（分级预控）", "action": "自动升级",
                       "field": "handling_level", "from_value": ev.handling_level, "to_value": new,
                       "note": reason})
    if changes:
        from sqlalchemy import bindparam

        conn.execute(update(Event).where(Event.id == bindparam("_id"))
                     .values(handling_level=bindparam("_level"), level_since=now), changes)
        conn.execute(insert(EventAudit), audits)
    return len(changes)


def set_level(conn: Connection, event_id: int, level: str, actor: str, reason: str, now: datetime) -> None:
    """A leader escalates or de-escalates an event by hand (recorded in its history)."""
    if level not in LEVELS:
        raise LevelError(f"未知处置层级：{level!r}")
    ev = conn.execute(select(Event.handling_level, Event.status).where(Event.id == event_id)).one_or_none()
    if ev is None:
        raise LevelError(f"事件 {event_id} 不存在")
    if ev.status not in OPEN_STATES:
        raise LevelError("已办结或已退回的事件不能调整处置层级")
    if ev.handling_level == level:
        return
    action = "手动升级" if ORDER.index(level) > ORDER.index(ev.handling_level) else "手动降级"
    conn.execute(update(Event).where(Event.id == event_id).values(handling_level=level, level_since=now,
                                                                  updated_at=now))
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor, "action": action,
                                       "field": "handling_level", "from_value": ev.handling_level,
                                       "to_value": level, "note": reason or None}])
