"""One deadline per event, set when it is taken in: its feed's (a 12345 工单's 办理时限, an inspector's 整改期限),
else its category's SLA shortened by its severity's tier in the warning rules (紧急 2 h, 严重 24 h); a 紧急
category's (tiered) SLA caps a feed's deadline too (a gas leak: hours, not days). The stored deadline is the one
every screen shows, the KPIs count and the colour is judged by; an approved extension (延期) then stands.

`retier_open_events` (migration 0027) gives events stored before the tiers were applied at intake the deadline
they would have been given, where it came from their category and was never set since."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from ..core.taxonomy import load_taxonomy
from ..core.workflow import OPEN_STATES
from ..figures import rollups
from ..models import Event, EventAudit

SEVERE_CAP = 4  # 紧急 categories: their deadline caps the feed's
ACTION = "时限校正"


def tier_due(reported_at: datetime | None, severity: int | None, due_at: datetime | None,
             tiers: dict) -> datetime | None:
    """`due_at` shortened by a severity's tier (紧急 2 h, 严重 24 h from `reported_at`), when one applies."""
    tier = tiers.get(severity or 0)
    if tier is None or reported_at is None:
        return due_at
    limit = reported_at + timedelta(hours=tier)
    return limit if due_at is None else min(due_at, limit)


def intake_due(reported_at: datetime | None, severity: int | None, feed_due: datetime | None, cat,
               tiers: dict) -> datetime | None:
    """The deadline an event is stored with (see the module docstring); `cat` is its taxonomy category, `tiers`
    the warning rules' `sla_tiers_hours` in force (the callers above the domain's events read them)."""
    if reported_at is None:
        return feed_due
    severity = severity or cat.severity
    own = tier_due(reported_at, severity, reported_at + timedelta(hours=cat.sla_hours), tiers)
    if feed_due is None:
        return own
    return min(feed_due, own) if max(severity or 0, cat.severity or 0) >= SEVERE_CAP else feed_due


def retier_open_events(conn: Connection, tiers: dict, now: datetime) -> int:
    """Give open events of a tiered severity the deadline `intake_due` gives them where it is earlier than the
    stored one, the stored one came from their category (or a 紧急 category caps it) and no deadline was set
    since (延期, a dispatcher's); record each in the event's history; return how many changed (again: none)."""
    if not tiers:
        return 0
    cats = load_taxonomy().categories
    rows = conn.execute(select(Event.id, Event.severity, Event.reported_at, Event.due_at, Event.area_path,
                               Event.closed_at, Event.category_code)
                        .where(Event.status.in_(OPEN_STATES), Event.severity.in_(list(tiers)))).all()
    changed = {}
    for r in rows:
        cat = cats.get(r.category_code)
        if cat is None or r.reported_at is None:
            continue
        from_category = r.due_at is None or r.due_at == r.reported_at + timedelta(hours=cat.sla_hours)
        # a feed's own deadline goes in as the feed's: it stands, unless a 紧急 category caps it
        due = intake_due(r.reported_at, r.severity, None if from_category else r.due_at, cat, tiers)
        if due is not None and due != r.due_at:
            changed[r.id] = (r, due)
    if changed:
        given = set(conn.execute(select(EventAudit.event_id).where(
            EventAudit.field == "due_at", EventAudit.event_id.in_(list(changed)))).scalars())
        changed = {k: v for k, v in changed.items() if k not in given}
    if not changed:
        return 0
    rollups.mark_rows(conn, [r._mapping for r, _ in changed.values()])  # the days the deadlines leave
    conn.execute(update(Event).where(Event.id == bindparam("eid")).values(due_at=bindparam("due")),
                 [{"eid": k, "due": due} for k, (_, due) in changed.items()])
    rollups.mark_rows(conn, [{**r._mapping, "due_at": due} for r, due in changed.values()])
    conn.execute(insert(EventAudit), [
        {"event_id": k, "at": now, "actor": "系统", "action": ACTION, "field": "due_at",
         "from_value": r.due_at.isoformat(sep=" ") if r.due_at else None, "to_value": due.isoformat(sep=" "),
         "note": f"按事件等级时限（{tiers[r.severity]:g} 小时）确定办理时限"} for k, (r, due) in changed.items()])
    return len(changed)
