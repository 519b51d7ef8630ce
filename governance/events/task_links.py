"""Task links: a grid worker opens one task with a per-task token (/worker/<token>), stored hashed.

A link belongs to one (event, assignee). Dispatch, 改派 and a leader's re-issue mint a new one and
revoke the event's earlier live links; 召回 and 核查办结 revoke them; a leader may revoke the current
one. It lives until the event's deadline + 7 days (at least 1 day, at most 30 days from issue), and
it grants something only while the event is still assigned to its staff member and in 任务分办 or
协同处置 — a link of a reassigned or finished task opens nothing. The raw token exists only in the
return value of `mint` (and the assignee's notification); the table keeps its SHA-256.

`grant` is what every worker-facing request asks: which staff member acts, on which events.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from ..models import Event, EventAudit, Outbox, Staff, TaskLink
from ..core.timeutil import format_local

MINE = "mine"                     # the credential of a signed-in worker's own task list
PATH_PREFIX = "/worker/"
GRACE = timedelta(days=7)         # a link outlives the deadline by this much …
MIN_LIFE = timedelta(days=1)      # … but lives at least this long from issue …
MAX_LIFE = timedelta(days=30)     # … and at most this long
WORKER_STATES = ("assign", "handle")  # a link grants its task only in these states
FIELD = "任务链接"                 # event_audit.field of link rows (shown as is in the history)


@dataclass(frozen=True)
class Grant:
    """What a worker credential allows right now: act as `staff_id` on `event_ids`."""

    staff_id: int
    event_ids: frozenset[int]


def digest(token: str) -> str:
    """SHA-256 (hex) of a raw token: the only form stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_path(token: str) -> str:
    """The worker page path of a raw token."""
    return PATH_PREFIX + token


def expiry(due_at: datetime | None, now: datetime) -> datetime:
    """When a link issued at `now` expires: the deadline + 7 days, kept within 1 to 30 days from now."""
    target = (due_at or now) + GRACE
    return min(max(target, now + MIN_LIFE), now + MAX_LIFE)


def _audit(conn: Connection, event_id: int, now: datetime, actor: str, action: str, old: str | None,
           new: str | None, note: str | None = None) -> None:
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor[:60], "action": action,
                                       "field": FIELD, "from_value": old, "to_value": new, "note": note}])


def mint(conn: Connection, event_id: int, staff_id: int, now: datetime, actor: str) -> str:
    """A new link to `event_id` for `staff_id` (earlier live links of the event are revoked); the raw token.

    Audited. The caller has checked that `staff_id` may handle the event (governance.events.dispatch).
    """
    due = conn.execute(select(Event.due_at).where(Event.id == event_id)).one_or_none()
    name = conn.execute(select(Staff.name).where(Staff.id == staff_id)).scalar()
    if due is None or name is None:
        raise ValueError("事件或承办人不存在")
    revoke_for_event(conn, event_id, now, actor, reason="换发新链接")
    token = secrets.token_urlsafe(32)
    expires = expiry(due.due_at, now)
    conn.execute(insert(TaskLink), [{"token_sha256": digest(token), "event_id": event_id, "staff_id": staff_id,
                                     "created_at": now, "expires_at": expires}])
    _audit(conn, event_id, now, actor, "发出任务链接", None,
           f"发给 {name}，有效至 {format_local(expires, '%Y-%m-%d %H:%M')}")
    return token


def revoke_for_event(conn: Connection, event_id: int, now: datetime, actor: str, reason: str | None = None) -> int:
    """Revoke every live link of an event; how many were live (audited when any)."""
    n = conn.execute(update(TaskLink).where(TaskLink.event_id == event_id, TaskLink.revoked_at.is_(None),
                                            TaskLink.expires_at > now)
                     .values(revoked_at=now, revoked_by=actor[:60])).rowcount
    if n:
        _audit(conn, event_id, now, actor, "收回任务链接", "有效", "已收回",
               f"{reason}（{n} 条）" if reason else (f"共 {n} 条" if n > 1 else None))
    return n


def current_link(conn: Connection, event_id: int, now: datetime):
    """The live link of an event held by its current assignee (staff_id, created_at, expires_at), or None."""
    return conn.execute(
        select(TaskLink.staff_id, TaskLink.created_at, TaskLink.expires_at)
        .join(Event, and_(Event.id == TaskLink.event_id, Event.assignee_staff_id == TaskLink.staff_id))
        .where(TaskLink.event_id == event_id, TaskLink.revoked_at.is_(None), TaskLink.expires_at > now)
        .order_by(TaskLink.id.desc()).limit(1)).first()


def notify(conn: Connection, event_id: int, staff_id: int, token: str, now: datetime, title: str) -> None:
    """Queue the assignee's notification carrying the link (the one place the raw token is written)."""
    expires = conn.execute(select(TaskLink.expires_at).where(TaskLink.token_sha256 == digest(token))).scalar()
    conn.execute(insert(Outbox), [{
        "channel": "assignee", "dedupe_key": f"task-link:{digest(token)[:40]}", "created_at": now, "attempts": 0,
        "next_attempt_at": now, "payload": {"title": title, "staff_id": staff_id, "event_id": event_id,
                                            "link": link_path(token), "expires_at": expires.isoformat()}}])


def grant(conn: Connection, credential: str, now: datetime, staff_id: int | None = None) -> Grant | None:
    """What a worker credential allows now, or None.

    A task token: its live link's staff member and that one event, while the event is still assigned
    to them and in 任务分办/协同处置. "mine": every open task (assign/handle) of `staff_id`, the
    signed-in worker's own staff id (None: no grant).
    """
    if credential == MINE:
        if staff_id is None:
            return None
        ids = conn.execute(select(Event.id).where(Event.assignee_staff_id == staff_id,
                                                  Event.status.in_(WORKER_STATES))).scalars()
        return Grant(int(staff_id), frozenset(ids))
    if not isinstance(credential, str) or not 20 <= len(credential) <= 200:
        return None
    row = conn.execute(
        select(TaskLink.staff_id, TaskLink.event_id)
        .join(Event, and_(Event.id == TaskLink.event_id, Event.assignee_staff_id == TaskLink.staff_id))
        .where(TaskLink.token_sha256 == digest(credential), TaskLink.revoked_at.is_(None),
               TaskLink.expires_at > now, Event.status.in_(WORKER_STATES))).first()
    return Grant(row.staff_id, frozenset({row.event_id})) if row else None
