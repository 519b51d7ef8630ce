"""Warning lifecycle: raise once per condition, acknowledge, clear itself, notify via an outbox."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from .alarm_mgmt import collapse_floods, load_alarm_rules
from ..models import Area, Outbox, RaisedWarning
from ..core.scope import subtree
from .warning_eval import evaluate_scope
from .warnings import LABELS, RANK, Rules


@dataclass
class SyncResult:
    """What one synchronisation did."""

    raised: int = 0
    changed: int = 0
    cleared: int = 0
    notified: int = 0


def sync_warnings(conn: Connection, scope_path: str, now: datetime, rules: Rules,
                  notify: bool = True) -> SyncResult:
    """Make the warning table match the rules now: new conditions raise, ended ones clear.

    A condition is (kind, subject): an event id or a micro-grid code. A warning that turns more
    severe counts as new for notification; one that eases is updated silently. When the table
    holds no warning at all yet, the first sync records the backlog without notifying.
    """
    result = SyncResult()
    current = evaluate_scope(conn, scope_path, now, rules)
    wanted: dict[tuple[str, str], tuple[str, list[str], str | None]] = {}
    for eid, (level, reasons) in current.events.items():
        if level != "none":
            wanted[("event", str(eid))] = (level, reasons, current.event_grid.get(eid))
    for path, (level, reasons) in current.grids.items():
        if level != "none":
            wanted[("grid", path.strip("/").split("/")[-1])] = (level, reasons, path)
    open_rows = {(w.kind, w.subject): w for w in conn.execute(
        select(RaisedWarning).where(RaisedWarning.cleared_at.is_(None), RaisedWarning.kind.in_(("event", "grid")),
                              subtree(RaisedWarning.area_path, scope_path)))}
    first_sync = conn.execute(select(RaisedWarning.id).limit(1)).first() is None
    to_notify: list[tuple[int, str, str, list[str]]] = []
    new_rows = []
    for key, (level, reasons, path) in wanted.items():
        old = open_rows.get(key)
        if old is None:
            new_rows.append({"kind": key[0], "subject": key[1], "area_path": path, "level": level,
                             "reasons": reasons, "raised_at": now, "updated_at": now})
        elif old.level != level or list(old.reasons or []) != reasons:
            conn.execute(update(RaisedWarning).where(RaisedWarning.id == old.id).values(level=level, reasons=reasons,
                                                                             updated_at=now))
            result.changed += 1
            if RANK[level] > RANK[old.level] and level in rules.notify_levels and old.supervised_at is None:
                to_notify.append((old.id, key[0], key[1], level, reasons))
    if new_rows:
        conn.execute(insert(RaisedWarning), new_rows)
        ids = {(w.kind, w.subject): w.id for w in conn.execute(
            select(RaisedWarning.id, RaisedWarning.kind, RaisedWarning.subject).where(RaisedWarning.cleared_at.is_(None),
                                                                    RaisedWarning.raised_at == now))}
        result.raised = len(new_rows)
        to_notify += [(ids[(r["kind"], r["subject"])], r["kind"], r["subject"], r["level"], r["reasons"])
                      for r in new_rows if r["level"] in rules.notify_levels]
    ended = [w.id for key, w in open_rows.items() if key not in wanted]
    if ended:
        conn.execute(update(RaisedWarning).where(RaisedWarning.id.in_(ended)).values(cleared_at=now, updated_at=now))
        result.cleared = len(ended)
    if not first_sync:  # a flood of new warnings in a community becomes one summary (alarm_mgmt)
        collapsed, floods = collapse_floods(conn, now, load_alarm_rules())
        to_notify = [i for i in to_notify if i[0] not in collapsed] + floods
    if notify and not first_sync and to_notify:
        result.notified = _enqueue(conn, to_notify, now, rules)
    return result


def _enqueue(conn: Connection, items, now: datetime, rules: Rules) -> int:
    names = dict(conn.execute(select(Area.code, Area.name).where(
        Area.code.in_([s for _, k, s, _, _ in items if k != "event"]))).all()) if items else {}
    items = sorted(items, key=lambda i: -RANK[i[3]])
    rows = []
    for wid, kind, subject, level, reasons in items[:rules.notify_max_per_sync]:
        what = {"event": f"事件 #{subject}", "flood": f"社区 {names.get(subject, subject)} 预警泛滥"}.get(
            kind, f"网格 {names.get(subject, subject)}")
        rows.append({"channel": "webhook", "dedupe_key": f"warning:{wid}:{level}", "created_at": now,
                     "attempts": 0, "next_attempt_at": now,
                     "payload": {"title": f"{LABELS[level]}：{what}", "level": level, "warning_id": wid,
                                 "text": "；".join(reasons)}})
    rest = items[rules.notify_max_per_sync:]
    if rest:
        rows.append({"channel": "webhook", "dedupe_key": f"digest:{now.isoformat()}:{len(rest)}",
                     "created_at": now, "attempts": 0, "next_attempt_at": now,
                     "payload": {"title": f"另有 {len(rest)} 条新预警", "level": rest[0][3], "warning_id": None,
                                 "text": "请在驾驶舱“预警”面板查看。"}})
    existing = {k for (k,) in conn.execute(select(Outbox.dedupe_key).where(
        Outbox.dedupe_key.in_([r["dedupe_key"] for r in rows])))}
    rows = [r for r in rows if r["dedupe_key"] not in existing]
    if rows:
        conn.execute(insert(Outbox), rows)
    return len(rows)


def acknowledge(conn: Connection, warning_id: int, user: str, now: datetime, *, event_id: int) -> bool:
    """Mark an open warning of one event as seen by `user`; False if cleared, unknown or not that event's.

    `event_id` is required: every caller acts on one event whose permission was checked against that
    event's area, so only that event's own open warning is acknowledged; a warning id of another
    event, or of a grid, gives False and changes nothing. The time of acknowledgement is kept
    (acknowledged_at − raised_at is the time to acknowledge on the 预警质量 page).
    """
    where = [RaisedWarning.id == warning_id, RaisedWarning.cleared_at.is_(None),
             RaisedWarning.kind == "event", RaisedWarning.subject == str(int(event_id))]
    done = conn.execute(update(RaisedWarning).where(*where).values(
        acknowledged_by=func.coalesce(RaisedWarning.acknowledged_by, user),
        acknowledged_at=func.coalesce(RaisedWarning.acknowledged_at, now), updated_at=now))
    return done.rowcount == 1


def open_warning_for_event(conn: Connection, event_id: int):
    """The open warning of an event, if any."""
    return conn.execute(select(RaisedWarning).where(RaisedWarning.kind == "event", RaisedWarning.subject == str(event_id),
                                              RaisedWarning.cleared_at.is_(None))).first()
