"""关爱走访: visit plans per special group (data: governance/people/people.yaml), tasks to the micro-grid's worker,
visits recorded, 走访完成率 / 按期走访率 per area, missed visits, and one-off 敲门行动 campaigns.

The scheduler calls `generate_tasks` (data_sources/people_jobs.py); the worker's phone page calls
`open_tasks_for_staff` and `record_visit`; the alarm rules can call `missed_visits`.
"""
from __future__ import annotations

import copy
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.engine import Connection

from ..accounts.accounts import log_access
from ..core.bulk_rows import insert_rows
from ..accounts.console_settings import SettingsDoc, effective, overrides
from ..models import Area, Staff
from .groups import config, groups
from ..models import Household, Resident, VisitTask
from ..core.scope import subtree

WORKER_ROLES = ("micro_grid_worker", "grid_worker")  # the micro-grid's own, else its general grid's


def parse_allowance(entry) -> timedelta:
    """The offline allowance of `visit_recording` (whole hours 1–168); ValueError in Chinese."""
    hours = (entry or {}).get("offline_allowance_hours") if isinstance(entry, dict) else None
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 168:
        raise ValueError(f"visit_recording.offline_allowance_hours 应为 1–168 的整数小时：{hours!r}")
    return timedelta(hours=hours)


def offline_allowance() -> timedelta:
    """How far before its receipt a visit's claimed time may lie (people.yaml `visit_recording`)."""
    return parse_allowance(config().get("visit_recording"))


OFFLINE_ALLOWANCE = offline_allowance()  # checked when the module is first imported: a bad file fails at start


@dataclass(frozen=True)
class Plan:
    """Visit every household with a member of `group` every `every_days` days."""

    group: str
    every_days: int
    label: str


def parse_plans(entries: list) -> list[Plan]:
    """Validate visit-plan entries (known group once, whole days 1–365, a short label); ValueError in Chinese."""
    out: list[Plan] = []
    for p in entries:
        days = p.get("every_days") if isinstance(p, dict) else None
        if (not isinstance(p, dict) or p.get("group") not in groups() or isinstance(days, bool)
                or not isinstance(days, int) or not 1 <= days <= 365 or len(str(p.get("label", ""))) > 30
                or p["group"] in {x.group for x in out}):
            raise ValueError(f"走访计划无效：{p}")
        out.append(Plan(p["group"], days, str(p.get("label", ""))))
    return out


# The plans as the admin console may change them (governance/console/plan_settings.py edits them, #22).
def plan_doc() -> dict:
    """people.yaml's visit plans keyed by group (a fresh copy)."""
    return {p["group"]: {"every_days": p["every_days"], "label": p.get("label", "")}
            for p in copy.deepcopy(config().get("visit_plans", []))}


def _as_entries(doc: dict) -> list[dict]:
    return [{"group": group, **entry} for group, entry in doc.items()]


PLANS = SettingsDoc(key="people", base=plan_doc, check=lambda doc: parse_plans(_as_entries(doc)),
                    error=ValueError, action="plan_change",
                    editable=lambda: [f"{g}.{f}" for g in plan_doc() for f in ("every_days", "label")])


@lru_cache(maxsize=16)
def _plans_for(key: str) -> tuple[Plan, ...]:
    return tuple(parse_plans(_as_entries(effective(PLANS, json.loads(key)))))


def effective_plans(conn: Connection) -> list[Plan]:
    """The visit plans in force: people.yaml plus the console's changes, validated (cached per set of changes)."""
    return list(_plans_for(json.dumps(overrides(conn, PLANS), sort_keys=True, ensure_ascii=False)))


def plans(conn: Connection | None = None) -> list[Plan]:
    """The visit plans in force: people.yaml's, or with a connection the admin console's changes laid over it."""
    if conn is not None:
        return effective_plans(conn)
    return parse_plans(config().get("visit_plans", []))


def _workers(conn: Connection) -> dict[str, int]:
    """Area path → the staff id who visits there (a micro-grid's worker, else its general grid's)."""
    out: dict[str, int] = {}
    rows = conn.execute(select(Area.path, Staff.id, Staff.role).join(Staff, Staff.area_id == Area.id)
                        .where(Staff.role.in_(WORKER_ROLES)).order_by(Staff.id)).all()
    for path, sid, role in sorted(rows, key=lambda r: WORKER_ROLES.index(r.role)):
        out.setdefault(path, sid)
    return out


def _worker_for(workers: dict[str, int], path: str) -> int | None:
    own = workers.get(path)
    return own if own is not None else workers.get(path.rsplit("/", 2)[0] + "/")


def _households_of(conn: Connection, group: str, path: str | None = None) -> list[tuple[int, str]]:
    """(household id, micro-grid path) of open, placed households with an active member of `group`."""
    q = (select(Household.id, Household.area_path).where(
        Household.closed_at.is_(None), Household.area_path.isnot(None),
        Household.id.in_(select(Resident.household_id).where(Resident.closed_at.is_(None),
                                                            Resident.groups.like(f"%,{group},%")))))
    if path:
        q = q.where(subtree(Household.area_path, path))
    return conn.execute(q.order_by(Household.id)).all()


def generate_tasks(conn: Connection, now: datetime) -> int:
    """Create the next round's task for every household whose last plan task is due (or that has none)."""
    workers = _workers(conn)
    created = []
    for plan in plans(conn):
        latest = dict(conn.execute(select(VisitTask.household_id, func.max(VisitTask.due_at))
                                   .where(VisitTask.plan == plan.group).group_by(VisitTask.household_id)).all())
        for hid, path in _households_of(conn, plan.group):
            last = latest.get(hid)
            if isinstance(last, str):  # SQLite aggregates come back as text
                last = datetime.fromisoformat(last)
            if last is not None and last > now:
                continue  # the current round's task exists
            created.append({"household_id": hid, "plan": plan.group, "campaign": None, "area_path": path,
                            "staff_id": _worker_for(workers, path), "created_at": now,
                            "due_at": now + timedelta(days=plan.every_days), "done_at": None, "done_by": None,
                            "note": None, "needs": None, "event_id": None})
    insert_rows(conn, VisitTask.__table__, created)
    return len(created)


def campaign_tasks(conn: Connection, campaign_id: int, name: str, group: str, area_path: str, due_at: datetime,
                   now: datetime) -> int:
    """敲门行动: a visit task for every household of `group` in an area that has none of this campaign yet.

    Assigned like a plan round's (`_worker_for`), marked with the campaign's name; return the tasks made
    (0 when the campaign is started again and no household is new: one task per campaign and household).
    """
    if group not in groups():
        raise ValueError(f"未知特殊人群：{group}")
    have = set(conn.execute(select(VisitTask.household_id).where(VisitTask.campaign_id == campaign_id)).scalars())
    workers = _workers(conn)
    rows = [{"household_id": hid, "plan": "campaign", "campaign": name[:60], "campaign_id": campaign_id,
             "area_path": path, "staff_id": _worker_for(workers, path), "created_at": now, "due_at": due_at,
             "done_at": None, "done_by": None, "note": None, "needs": None, "event_id": None}
            for hid, path in _households_of(conn, group, area_path) if hid not in have]
    insert_rows(conn, VisitTask.__table__, rows)
    return len(rows)


def open_tasks_for_staff(conn: Connection, staff_id: int, now: datetime) -> list[dict]:
    """A worker's open visit tasks, soonest due first, with the household's address (for the phone page)."""
    rows = conn.execute(select(VisitTask.id, VisitTask.plan, VisitTask.campaign, VisitTask.due_at, Household.address)
                        .join(Household, Household.id == VisitTask.household_id)
                        .where(VisitTask.staff_id == staff_id, VisitTask.done_at.is_(None))
                        .order_by(VisitTask.due_at, VisitTask.id)).all()
    names = groups()
    return [{"id": r.id, "what": r.campaign or names.get(r.plan, r.plan), "campaign": r.campaign, "due_at": r.due_at,
             "overdue": r.due_at < now, "address": r.address} for r in rows]


def record_visit(conn: Connection, task_id: int, staff_id: int, now: datetime, note: str = "",
                 needs: str = "", actor: str = "", received_at: datetime | None = None) -> bool:
    """Record a visit made at `now` by the task's own worker (once), received at `received_at` (default: `now`);
    logged. False when not theirs or already done."""
    received_at = received_at or now
    done = conn.execute(update(VisitTask).where(VisitTask.id == task_id, VisitTask.staff_id == staff_id,
                                                VisitTask.done_at.is_(None))
                        .values(done_at=now, recorded_at=received_at, done_by=(actor or f"staff:{staff_id}")[:60],
                                note=note[:2000] or None, needs=needs[:2000] or None)
                        .execution_options(synchronize_session=False)).rowcount
    if done:
        log_access(conn, actor or f"staff:{staff_id}", "visit_record", received_at, target=f"visit:{task_id}",
                   detail=None if received_at == now else f"走访时间 {now.isoformat(sep=' ', timespec='minutes')} UTC")
    return bool(done)


def link_event(conn: Connection, task_id: int, event_id: int) -> None:
    """Remember the event raised from a visit (the phone page raises it through the usual intake)."""
    conn.execute(update(VisitTask).where(VisitTask.id == task_id).values(event_id=event_id)
                 .execution_options(synchronize_session=False))


@dataclass
class VisitFigures:
    """走访 figures of an area: tasks counted (due by now, or already done), done, done on time."""

    due: int = 0
    done: int = 0
    on_time: int = 0

    @property
    def completion(self) -> float | None:
        """走访完成率 = done ÷ counted tasks (those due by now, plus those done before their due time), in percent."""
        return 100.0 * self.done / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        """按期走访率 = tasks done on time ÷ tasks done, in percent (on time: see `on_time_case`).

        A task's due time is its plan round's deadline, or for a 敲门行动 24:00 (Asia/Shanghai) of its due date,
        so "on time" means done by its due date and received within the offline allowance of it. None while
        nothing is done (the same rule as 按期办结率).
        """
        return 100.0 * self.on_time / self.done if self.done else None


def _plus(conn: Connection, column, delta: timedelta):
    """`column + delta` and the value to compare it with, in SQL both databases evaluate alike."""
    if conn.dialect.name == "sqlite":  # datetimes are text there: compare both at millisecond precision
        fmt = "%Y-%m-%d %H:%M:%f"
        return func.strftime(fmt, column, f"+{int(delta.total_seconds())} seconds"), lambda c: func.strftime(fmt, c)
    return column + delta, lambda c: c


def on_time_case(conn: Connection, allowance: timedelta | None = None):
    """1 for a visit done on time, else 0 (SQL): claimed at or before its due time (done_at ≤ due_at) and received
    by the due time plus the offline allowance (recorded_at ≤ due_at + allowance; rows from before migration
    0026 have no recorded_at and are taken as received when done)."""
    bound, same = _plus(conn, VisitTask.due_at, OFFLINE_ALLOWANCE if allowance is None else allowance)
    received = func.coalesce(VisitTask.recorded_at, VisitTask.done_at)
    return case((and_(VisitTask.done_at <= VisitTask.due_at, same(received) <= bound), 1), else_=0)


def visit_figures(conn: Connection, path: str, now: datetime, since: datetime | None = None) -> VisitFigures:
    """Figures of the tasks in an area subtree that were due by now or are done (created since `since`)."""
    cond = [subtree(VisitTask.area_path, path), (VisitTask.due_at <= now) | VisitTask.done_at.isnot(None)]
    if since is not None:
        cond.append(VisitTask.created_at >= since)
    due, done, on_time = conn.execute(select(
        func.count(), func.count(VisitTask.done_at),
        func.sum(on_time_case(conn))).where(and_(*cond))).one()
    return VisitFigures(int(due or 0), int(done or 0), int(on_time or 0))


def missed_visits(conn: Connection, path: str, now: datetime) -> dict[str, int]:
    """Missed visits (open past their due time) per micro-grid path of an area: what a warning rule reads."""
    out: dict[str, int] = defaultdict(int)
    for p, n in conn.execute(select(VisitTask.area_path, func.count()).where(
            subtree(VisitTask.area_path, path), VisitTask.done_at.is_(None), VisitTask.due_at < now)
            .group_by(VisitTask.area_path)):
        out[p] += n
    return dict(out)
