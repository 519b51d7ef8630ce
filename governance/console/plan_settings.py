"""关爱走访 visit plans in the admin console, applied without a restart (the scheduler reads the database).

The `visit_plans` of people.yaml, keyed by group ({"elderly_alone": {"every_days": 7, "label": "每周走访"}}),
changed through governance/accounts/console_settings.py and checked by the start-up check of the plans
(governance.people.visits.parse_plans, same message). `visits.plans(conn)` — what the scheduler's task
generation uses — returns the plans in force. A saved interval also moves the due time of the plan's
open round (created + new interval), so the 逾期未访 warnings and the worker's phone follow at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from ..core.access import Principal
from ..accounts.console_settings import apply, changed_rows
from ..people.groups import groups
from ..models import VisitTask
from ..people.visits import PLANS, effective_plans, plan_doc  # noqa: F401 - named here too

FIELDS = {"every_days": "走访间隔（天）", "label": "说明"}


def label(path: str) -> str:
    """Chinese label of a plan setting ("elderly_alone.every_days" → "独居老人：走访间隔（天）")."""
    group, _, field = path.partition(".")
    return f"{groups().get(group, group)}：{FIELDS.get(field, field)}"


def choices() -> list[dict]:
    """Every editable plan setting as dropdown choices."""
    return [{"label": f"{label(p)}（{p}）", "value": p} for p in PLANS.editable()]


def plan_rows(conn: Connection) -> list[dict]:
    """Every special group: its plan in force (or none), the file's interval, open visits, who changed it."""
    base, changed = plan_doc(), changed_rows(conn, PLANS)
    plans = {p.group: p for p in effective_plans(conn)}
    open_n = dict(conn.execute(select(VisitTask.plan, func.count()).where(VisitTask.done_at.is_(None))
                               .group_by(VisitTask.plan)).all())
    rows = []
    for group, name in groups().items():
        plan = plans.get(group)
        mine = [v for k, v in changed.items() if k.startswith(group + ".")]
        last = max(mine, key=lambda v: v[1]) if mine else ("", None)
        rows.append({"group": group, "name": name, "every_days": plan.every_days if plan else None,
                     "label": plan.label if plan else "", "file_days": base.get(group, {}).get("every_days"),
                     "open": int(open_n.get(group, 0)), "by": last[0], "at": last[1]})
    return rows


def _reschedule(conn: Connection, group: str, days: int) -> int:
    """Move the due time of the plan's open visits to created + `days`; return how many moved."""
    rows = conn.execute(select(VisitTask.id, VisitTask.created_at).where(
        VisitTask.plan == group, VisitTask.campaign.is_(None), VisitTask.done_at.is_(None))).all()
    if rows:
        table = VisitTask.__table__
        conn.execute(update(table).where(table.c.id == bindparam("tid")).values(due_at=bindparam("due")),
                     [{"tid": r.id, "due": r.created_at + timedelta(days=days)} for r in rows])
    return len(rows)


def save(conn: Connection, p: Principal, path: str, text, now: datetime) -> dict:
    """Change one plan setting (None: back to the file) after the start-up check; open rounds follow the interval."""
    change = apply(conn, PLANS, p, path, text, now)
    change["label"] = label(path)
    if path.endswith(".every_days") and change["before"] != change["after"]:
        change["moved"] = _reschedule(conn, path.split(".")[0], int(change["after"]))
        if change["moved"]:  # the 逾期未访 warnings follow now, not at the scheduler's next run (as rule_settings)
            from ..alerts.rules_in_force import current_rules
            from ..alerts.warning_lifecycle import sync_warnings

            sync_warnings(conn, "/", now, current_rules(conn))
    return change
