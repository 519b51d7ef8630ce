"""敲门行动: a leader's one-off visit campaign — one visit to every household of a special group in an area.

A campaign is (name, group, area); starting it again reuses it and adds tasks only for households that have
none of it yet (new in the registry since), so nothing is made twice. Tasks are ordinary 关爱走访 tasks
(governance/people/visits.py: the micro-grid's worker, the phone page, 走访完成率 / 按期走访率). Progress is counted
from the tasks: households visited / total and visited on time, per child area of the campaign's area.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..accounts.accounts import log_access
from ..models import VisitCampaign
from ..models import Area
from .groups import config, groups
from ..models import VisitTask
from ..core.scope import subtree
from ..core.timeutil import SHANGHAI, to_local, to_utc_naive
from .visits import campaign_tasks, on_time_case


class CampaignError(ValueError):
    """A campaign that cannot be started; the message is shown as is (Chinese)."""


@dataclass(frozen=True)
class Started:
    """What one start did: the campaign, tasks made now, its tasks in all, whether it already existed."""

    campaign_id: int
    made: int
    total: int
    existed: bool


def default_days() -> int:
    """Days to the due date when none is given (`campaigns.default_days` in governance/people/people.yaml)."""
    return int((config().get("campaigns") or {}).get("default_days", 7))


def due_time(due_on: date | None, now: datetime) -> datetime:
    """The stored due time of a due date: 24:00 Asia/Shanghai of that day (default: `default_days` from today)."""
    today = to_local(now).date()
    if due_on is None:
        due_on = today + timedelta(days=default_days())
    if due_on < today:
        raise CampaignError("截止日期不能早于今天")
    return to_utc_naive(datetime(due_on.year, due_on.month, due_on.day, tzinfo=SHANGHAI) + timedelta(days=1))


def default_name(group: str) -> str:
    """The campaign's name when the leader gives none: 敲门行动·<group name>."""
    return f"敲门行动·{groups().get(group, group)}"


def start(conn: Connection, name: str | None, group: str, area_path: str, actor: str, now: datetime,
          due_on: date | None = None) -> Started:
    """Start (or start again) a campaign in an area: one task per household of the group; logged."""
    if group not in groups():
        raise CampaignError("请选择特殊人群")
    name = (name or "").strip() or default_name(group)
    if len(name) > 60:
        raise CampaignError("行动名称过长（最多 60 字）")
    row = conn.execute(select(VisitCampaign.id, VisitCampaign.due_at).where(
        VisitCampaign.area_path == area_path, VisitCampaign.group_code == group, VisitCampaign.name == name)).first()
    if row is None:
        cid = conn.execute(VisitCampaign.__table__.insert().values(
            name=name, group_code=group, area_path=area_path, due_at=due_time(due_on, now), created_by=actor[:60],
            created_at=now).returning(VisitCampaign.id)).scalar_one()
        due_at = conn.execute(select(VisitCampaign.due_at).where(VisitCampaign.id == cid)).scalar_one()
    else:
        cid, due_at = row
    made = campaign_tasks(conn, cid, name, group, area_path, due_at, now)
    total = conn.execute(select(func.count()).where(VisitTask.campaign_id == cid)).scalar_one()
    if not total:
        raise CampaignError(f"该区域没有{groups()[group]}的在册户")  # the caller's transaction rolls back
    log_access(conn, actor, "visit_campaign", now, target=f"campaign:{cid}",
               detail=f"{name} · {groups()[group]} @ {area_path} 新增 {made} / 共 {total} 户")
    return Started(cid, made, total, row is not None)


def _counts(conn: Connection, cond) -> list:
    """(area path, tasks, done, on time) of campaign tasks matching `cond`, per micro-grid."""
    return conn.execute(select(VisitTask.area_path, func.count(), func.count(VisitTask.done_at),
                               func.sum(on_time_case(conn)))
                        .where(cond).group_by(VisitTask.area_path)).all()


def campaigns_in(conn: Connection, scope: tuple[str, ...]) -> list[dict]:
    """Campaigns started inside a principal's scope, newest first, with households visited / total / on time."""
    found: dict[int, dict] = {}
    for root in scope:
        for r in conn.execute(select(VisitCampaign.id, VisitCampaign.name, VisitCampaign.group_code,
                                     VisitCampaign.area_path, VisitCampaign.due_at, VisitCampaign.created_by,
                                     VisitCampaign.created_at, Area.name.label("area_name"))
                              .join(Area, Area.path == VisitCampaign.area_path)
                              .where(subtree(VisitCampaign.area_path, root))):
            found[r.id] = {**r._mapping, "group": groups().get(r.group_code, r.group_code),
                           "total": 0, "done": 0, "on_time": 0}
    if found:
        for cid, n, d, t in conn.execute(select(VisitTask.campaign_id, func.count(), func.count(VisitTask.done_at),
                                                func.sum(on_time_case(conn)))
                                         .where(VisitTask.campaign_id.in_(list(found)))
                                         .group_by(VisitTask.campaign_id)):
            found[cid].update(total=int(n), done=int(d or 0), on_time=int(t or 0))
    return sorted(found.values(), key=lambda c: (c["created_at"], c["id"]), reverse=True)


def progress(conn: Connection, campaign_id: int) -> list[dict]:
    """Households visited / total and on time per child area of the campaign's area (then a 合计 row)."""
    path = conn.execute(select(VisitCampaign.area_path).where(VisitCampaign.id == campaign_id)).scalar_one()
    parent = conn.execute(select(Area.id).where(Area.path == path)).scalar_one()
    children = conn.execute(select(Area.code, Area.name, Area.path).where(Area.parent_id == parent)
                            .order_by(Area.path)).all()
    counts = _counts(conn, VisitTask.campaign_id == campaign_id)
    rows = []
    for code, name, child in children:
        mine = [c for c in counts if c[0].startswith(child)]
        if mine:
            rows.append({"code": code, "name": name, "total": sum(c[1] for c in mine),
                         "done": sum(c[2] for c in mine), "on_time": sum(int(c[3] or 0) for c in mine)})
    rows.append({"code": "", "name": "合计", "total": sum(c[1] for c in counts), "done": sum(c[2] for c in counts),
                 "on_time": sum(int(c[3] or 0) for c in counts)})
    return rows


def rate(part: int, whole: int) -> str:
    """'87.5%' of part ÷ whole, '—' when whole is 0 (the progress tables' cells)."""
    return f"{100.0 * part / whole:.1f}%" if whole else "—"
