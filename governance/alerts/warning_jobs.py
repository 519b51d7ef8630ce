"""Scheduled warning work: escalate, re-evaluate and notify (run by the scheduler process)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from ..events.drills import expire_drills
from .alarm_mgmt import load_alarm_rules, supervise_due
from .escalation import escalate_due
from ..core.notify import deliver_outbox
from .warning_lifecycle import sync_warnings
from .rules_in_force import current_rules

log = logging.getLogger(__name__)
WORLD_SCOPE = "/"


def refresh_warnings(engine: Engine, now: datetime) -> dict:
    """Escalate what is overdue at its level, then bring the warning table up to date."""
    rules = current_rules(engine)  # the file plus changes made in the admin console
    with engine.begin() as conn:
        expire_drills(conn, now)  # 网格赶考 tasks not 签收 in time close as missed
        escalated = escalate_due(conn, now, rules, WORLD_SCOPE)
        result = sync_warnings(conn, WORLD_SCOPE, now, rules)
        supervised = supervise_due(conn, now, load_alarm_rules())
    summary = {"escalated": escalated, "raised": result.raised, "changed": result.changed,
               "cleared": result.cleared, "notified": result.notified, "supervised": supervised}
    log.info("warnings: %s", summary)
    return summary


def store_warnings(conn: Connection, now: datetime) -> int:
    """Evaluate once and record the warning table (a freshly seeded world; nothing is notified)."""
    result = sync_warnings(conn, WORLD_SCOPE, now, current_rules(conn), notify=False)
    supervise_due(conn, now, load_alarm_rules())
    return result.raised


def deliver_notifications(engine: Engine, url: str | None, fmt: str, now: datetime) -> None:
    """Send due webhook messages (no-op when no webhook is configured)."""
    if url:
        deliver_outbox(engine, url, fmt, now)
