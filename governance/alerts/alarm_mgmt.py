"""Alarm management (EEMUA 191 / ISA-18.2): supervision (督办), shelving (搁置) and flood summaries."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection

from ..models import AccessLog, Area, Event, EventAudit, Staff, RaisedWarning
from ..core.scope import subtree
from ..core.timeutil import format_local
from .warnings import LABELS, LEVELS, RULES_FILE, RulesError

COMMUNITY_DEPTH = 4  # /city/district/subdistrict/community/...


@dataclass(frozen=True)
class AlarmRules:
    """Alarm-management rules (the `alarm:` block of warning_rules.yaml)."""

    supervise_overdue_days: float = 7
    review_days: float = 3
    supervisor_role: str = "supervisor"
    shelve_roles: tuple = ("admin", "subdistrict_leader", "community_staff")
    shelve_max_hours: float = 72
    reason_min_chars: int = 4
    flood_count: int = 10
    flood_minutes: int = 10
    flood_level: str = "orange"
    standing_hours: float = 24
    chatter_raises: int = 3
    chatter_hours: float = 24


def parse_alarm_rules(doc: dict) -> AlarmRules:
    """Validate the `alarm:` block (raise RulesError naming the faulty setting)."""
    a = doc.get("alarm") or {}
    try:
        flood, chatter = a.get("flood") or {}, a.get("chatter") or {}
        rules = AlarmRules(
            supervise_overdue_days=float(a.get("supervise_overdue_days", 7)),
            review_days=float(a.get("review_days", 3)), supervisor_role=str(a.get("supervisor_role", "supervisor")),
            shelve_roles=tuple(a.get("shelve_roles", AlarmRules.shelve_roles)),
            shelve_max_hours=float(a.get("shelve_max_hours", 72)), reason_min_chars=int(a.get("reason_min_chars", 4)),
            flood_count=int(flood.get("count", 10)), flood_minutes=int(flood.get("minutes", 10)),
            flood_level=str(flood.get("level", "orange")), standing_hours=float(a.get("standing_hours", 24)),
            chatter_raises=int(chatter.get("raises", 3)), chatter_hours=float(chatter.get("hours", 24)))
    except (TypeError, ValueError) as exc:
        raise RulesError(f"alarm: malformed value: {exc}") from exc
    if rules.flood_level not in LEVELS or rules.flood_level == "none":
        raise RulesError("alarm.flood.level must be a warning level")
    if min(rules.supervise_overdue_days, rules.review_days, rules.shelve_max_hours, rules.flood_count,
           rules.flood_minutes, rules.standing_hours, rules.chatter_raises, rules.chatter_hours) <= 0:
        raise RulesError("alarm: every count, age and duration must be positive")
    return rules


@lru_cache(maxsize=4)
def load_alarm_rules(path: Path = RULES_FILE) -> AlarmRules:
    """Load and validate the alarm-management rules (cached)."""
    with open(path, encoding="utf-8") as fh:
        return parse_alarm_rules(yaml.safe_load(fh))


def describe_alarm_rules(a: AlarmRules) -> list[str]:
    """The alarm-management rules in words, for the rules page."""
    return [f"超期 {a.supervise_overdue_days:g} 天以上的事件离开预警清单，转入督办，由社区党风政风廉情监督员全程盯办，"
            f"每 {a.review_days:g} 天复核",
            f"搁置须填写原因（至少 {a.reason_min_chars} 个字）并设到期时间（最长 {a.shelve_max_hours:g} 小时），"
            "到期自动恢复；全程留痕",
            f"同一社区 {a.flood_minutes} 分钟内新增预警超过 {a.flood_count} 条为泛滥，非红色预警合并为一条"
            f"{LABELS[a.flood_level]}汇总；红色预警照常逐条显示",
            f"超过 {a.standing_hours:g} 小时未解除的红橙预警、{a.chatter_hours:g} 小时内反复出现 {a.chatter_raises} 次"
            "及以上的预警，在“预警质量”页列出"]


def community_code(path: str | None) -> str | None:
    """The community code of an area path (None above community level)."""
    parts = (path or "").strip("/").split("/")
    return parts[COMMUNITY_DEPTH - 1] if len(parts) >= COMMUNITY_DEPTH else None


# ---- 督办 ------------------------------------------------------------------------------------------
def supervisors(conn: Connection, role: str) -> dict[str, tuple[int, str]]:
    """Community code → (staff id, name) of its supervisor (社区党风政风廉情监督员)."""
    rows = conn.execute(select(Area.code, Staff.id, Staff.name).join(Staff, Staff.area_id == Area.id)
                        .where(Staff.role == role).order_by(Staff.id)).all()
    out: dict[str, tuple[int, str]] = {}
    for code, sid, name in rows:
        out.setdefault(code, (sid, name))
    return out


def supervise_due(conn: Connection, now: datetime, rules: AlarmRules) -> int:
    """Move open event warnings whose event is overdue past the set age to 督办 (owner, review date)."""
    cutoff = now - timedelta(days=rules.supervise_overdue_days)
    candidates = {int(s): (wid, path) for wid, s, path in conn.execute(
        select(RaisedWarning.id, RaisedWarning.subject, RaisedWarning.area_path).where(
            RaisedWarning.kind == "event", RaisedWarning.cleared_at.is_(None), RaisedWarning.supervised_at.is_(None)))}
    if not candidates:
        return 0
    due: list[int] = []
    ids = list(candidates)
    for i in range(0, len(ids), 900):
        due += [eid for (eid,) in conn.execute(select(Event.id).where(
            Event.id.in_(ids[i:i + 900]), Event.due_at.is_not(None), Event.due_at < cutoff))]
    if not due:
        return 0
    owners = supervisors(conn, rules.supervisor_role)
    review = now + timedelta(days=rules.review_days)
    audits = []
    for eid in due:
        wid, path = candidates[eid]
        sid, name = owners.get(community_code(path), (None, "街道督办"))
        conn.execute(update(RaisedWarning).where(RaisedWarning.id == wid).values(
            supervised_at=now, supervisor_id=sid, review_at=review, updated_at=now))
        audits.append({"event_id": eid, "at": now, "actor": "系统", "action": "转入督办", "field": "督办人",
                       "from_value": None, "to_value": name,
                       "note": f"超期 {rules.supervise_overdue_days:g} 天以上，由监督员全程盯办，"
                               f"{format_local(review, '%Y-%m-%d')} 前复核"})
    conn.execute(insert(EventAudit), audits)
    return len(due)


# ---- 搁置 ------------------------------------------------------------------------------------------
class ShelveError(ValueError):
    """A shelving request that cannot be honoured; the message is shown to the person (Chinese)."""


def shelve(conn: Connection, warning_id: int, role: str | None, user: str, reason: str, hours: float,
           now: datetime, rules: AlarmRules, event_id: int | None = None, within=None) -> datetime:
    """Shelve an open warning until now + hours, with a reason; audited; returns the expiry.

    Only roles listed in the rules may; the reason must be real and the expiry within the maximum.
    With `event_id` only that event's own warning is shelved; `within` (a condition on
    RaisedWarning.area_path, access.scope_condition) keeps it to the caller's scope. Shelving also acknowledges.
    """
    if role not in rules.shelve_roles:
        raise ShelveError("您的角色不能搁置预警")
    reason = (reason or "").strip()
    if len(reason) < rules.reason_min_chars:
        raise ShelveError(f"请填写搁置原因（至少 {rules.reason_min_chars} 个字）")
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        raise ShelveError("搁置时长须为小时数") from None
    if not 0 < hours <= rules.shelve_max_hours:
        raise ShelveError(f"搁置时长须在 0–{rules.shelve_max_hours:g} 小时之间")
    where = [RaisedWarning.id == int(warning_id), RaisedWarning.cleared_at.is_(None)]
    if event_id is not None:
        where += [RaisedWarning.kind == "event", RaisedWarning.subject == str(int(event_id))]
    if within is not None:
        where.append(within)
    row = conn.execute(select(RaisedWarning.id, RaisedWarning.kind, RaisedWarning.subject, RaisedWarning.level,
                              RaisedWarning.acknowledged_at).where(*where)).first()
    if row is None:
        raise ShelveError("该预警已解除或不属于此事件")
    until = now + timedelta(hours=hours)
    values = {"shelved_at": now, "shelved_by": user, "shelved_until": until, "shelve_reason": reason[:200],
              "updated_at": now}
    if row.acknowledged_at is None:
        values |= {"acknowledged_at": now, "acknowledged_by": user}
    conn.execute(update(RaisedWarning).where(RaisedWarning.id == row.id).values(**values))
    detail = f"{LABELS[row.level]}；原因：{reason[:150]}；至 {format_local(until, '%Y-%m-%d %H:%M')}"
    conn.execute(insert(AccessLog), [{"at": now, "actor": user, "action": "shelve_warning",
                                      "target": f"warning:{row.id}", "detail": detail}])
    if row.kind == "event":
        conn.execute(insert(EventAudit), [{"event_id": int(row.subject), "at": now, "actor": user,
                                           "action": "搁置预警", "field": "搁置至", "from_value": None,
                                           "to_value": format_local(until, "%Y-%m-%d %H:%M"), "note": reason[:500]}])
    return until


def unshelve(conn: Connection, warning_id: int, user: str, now: datetime) -> bool:
    """End a shelving early (audited); False when the warning is not shelved now."""
    done = conn.execute(update(RaisedWarning).where(RaisedWarning.id == int(warning_id), RaisedWarning.shelved_until > now)
                        .values(shelved_until=now, updated_at=now))
    if done.rowcount:
        conn.execute(insert(AccessLog), [{"at": now, "actor": user, "action": "unshelve_warning",
                                          "target": f"warning:{int(warning_id)}", "detail": "提前解除搁置"}])
    return bool(done.rowcount)


def is_shelved(row, now: datetime) -> bool:
    """True while a warning row is shelved (its expiry lies ahead)."""
    return row.shelved_until is not None and row.shelved_until > now


def out_of_list(now: datetime):
    """SQL condition: open warnings that are NOT on the action list (shelved, supervised, or in a flood)."""
    return or_(RaisedWarning.shelved_until > now, RaisedWarning.supervised_at.is_not(None), RaisedWarning.flood_id.is_not(None))


# ---- 泛滥 ------------------------------------------------------------------------------------------
def collapse_floods(conn: Connection, now: datetime, rules: AlarmRules) -> tuple[set[int], list[tuple]]:
    """Collapse a community's new warnings into one flood summary when they exceed the flood rate.

    Returns (ids of warnings collapsed now, notification items for new or grown flood summaries). A
    flood summary clears once no new warning joined it for one flood window; red warnings are never
    collapsed (red means act now) but count toward the rate.
    """
    window = now - timedelta(minutes=rules.flood_minutes)
    first = conn.execute(select(func.min(RaisedWarning.raised_at))).scalar()
    if first is not None:  # the backlog recorded by the very first evaluation is no flood
        window = max(window, first)
    floods = {w.subject: w for w in conn.execute(select(RaisedWarning).where(RaisedWarning.kind == "flood",
                                                                       RaisedWarning.cleared_at.is_(None)))}
    recent = conn.execute(select(RaisedWarning.id, RaisedWarning.area_path, RaisedWarning.level, RaisedWarning.flood_id).where(
        RaisedWarning.kind.in_(("event", "grid")), RaisedWarning.raised_at > window, RaisedWarning.cleared_at.is_(None))).all()
    per: dict[str, list] = defaultdict(list)
    for r in recent:
        code = community_code(r.area_path)
        if code:
            per[code].append(r)
    collapsed: set[int] = set()
    notify: list[tuple] = []
    for code, rows in per.items():
        flood = floods.get(code)
        if flood is None and len(rows) <= rules.flood_count:
            continue
        members = [r.id for r in rows if r.flood_id is None and r.level != "red"]
        if flood is None:
            path = rows[0].area_path.split(code)[0] + code + "/"
            conn.execute(insert(RaisedWarning), [{"kind": "flood", "subject": code, "area_path": path,
                                            "level": rules.flood_level, "reasons": [], "raised_at": now,
                                            "updated_at": now}])
            flood = conn.execute(select(RaisedWarning).where(RaisedWarning.kind == "flood", RaisedWarning.subject == code,
                                                       RaisedWarning.cleared_at.is_(None))).first()
            notify.append((flood.id, "flood", code, rules.flood_level, None))
        if members:
            conn.execute(update(RaisedWarning).where(RaisedWarning.id.in_(members)).values(flood_id=flood.id))
            collapsed.update(members)
        total = conn.execute(select(RaisedWarning.id).where(RaisedWarning.flood_id == flood.id)).all()
        reasons = [f"{rules.flood_minutes} 分钟内新增预警 {len(rows)} 条（超过 {rules.flood_count} 条即为泛滥），"
                   f"已合并 {len(total)} 条非红色预警为本条"]
        conn.execute(update(RaisedWarning).where(RaisedWarning.id == flood.id).values(reasons=reasons, updated_at=now))
        if notify and notify[-1][0] == flood.id:
            notify[-1] = (flood.id, "flood", code, rules.flood_level, reasons)
    for code, flood in floods.items():
        if code not in per:
            conn.execute(update(RaisedWarning).where(RaisedWarning.id == flood.id).values(cleared_at=now, updated_at=now))
            conn.execute(update(RaisedWarning).where(RaisedWarning.flood_id == flood.id, RaisedWarning.cleared_at.is_(None))
                         .values(flood_id=None, updated_at=now))
    return collapsed, notify


def open_floods(conn: Connection, scope_path: str) -> list:
    """Open flood summaries in a scope (newest first)."""
    return conn.execute(select(RaisedWarning).where(RaisedWarning.kind == "flood", RaisedWarning.cleared_at.is_(None),
                                              subtree(RaisedWarning.area_path, scope_path))
                        .order_by(RaisedWarning.raised_at.desc())).all()

