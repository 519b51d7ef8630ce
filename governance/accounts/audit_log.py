"""审计: the access log, event actions and admin changes, filtered by person, area, kind and time, in scope.

An admin sees the entries of its subtree: event actions of events there, admin changes made there,
and access-log entries by or about the people, walls and clients anchored there (or naming an area
there). A city-wide admin sees everything. The page and the CSV/Excel export read the same rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select

from ..core.access import Principal, scope_condition
from ..models import AdminChange
from ..models import AccessLog, ApiClient, Area, Event, EventAudit, KioskDevice, UserAccount
from ..core.scope import subtree
from ..core.timeutil import format_local, to_utc_naive

KINDS = {"access": "访问日志", "events": "事件操作", "changes": "管理变更"}
LIMIT = 500
# Access-log actions in words (others are shown as recorded).
ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_throttled": "登录限流", "logout": "退出",
    "unmask": "查看完整个人信息", "export": "导出", "kiosk_open": "大屏登录", "kiosk_refused": "大屏链接被拒",
    "user_create": "新建账号", "user_enable": "启用账号", "user_disable": "停用账号", "password_set": "设置密码",
    "password_link": "发放改密链接", "password_link_used": "通过链接改密", "device_create": "登记大屏",
    "device_rotate": "大屏换链接", "device_revoke": "停用大屏", "device_playlist": "修改轮播",
    "client_create": "新建接入方", "client_rotate": "接入方换令牌", "client_revoke": "停用接入方",
    "embed_mint": "签发嵌入令牌", "scope_refused": "越权请求被拒", "scope_fallback": "越权地址回落",
    "rule_change": "修改预警设置", "rule_reset": "恢复预警设置", "audit_export": "导出审计",
}
ACTIONS.update({"dept_change": "修改职能部门", "dept_reset": "恢复职能部门", "report_limit_change": "修改报到时限",
                "report_limit_reset": "恢复报到时限", "plan_change": "修改走访计划", "plan_reset": "恢复走访计划"})  # #22
COLUMNS = {
    "access": [("at", "时间"), ("actor", "操作人"), ("action", "动作"), ("target", "对象"), ("detail", "详情"),
               ("ip", "地址")],
    "events": [("at", "时间"), ("actor", "操作人"), ("action", "动作"), ("event_id", "事件"), ("title", "事件标题"),
               ("field", "字段"), ("from_value", "原值"), ("to_value", "新值"), ("note", "备注")],
    "changes": [("at", "时间"), ("actor", "操作人"), ("action", "动作"), ("target", "对象"), ("before", "修改前"),
                ("after", "修改后")],
}


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page asks for: one kind, and optionally a person, an area path, an action and days."""

    kind: str = "access"
    person: str = ""
    area_path: str | None = None
    action: str = ""
    start: date | None = None
    end: date | None = None


def _day(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def filter_from(kind=None, person=None, area_path=None, action=None, start=None, end=None) -> AuditFilter:
    """An AuditFilter from loose inputs (query arguments, page controls); unknown kinds become "access"."""
    return AuditFilter(kind if kind in KINDS else "access", (person or "").strip()[:60], area_path,
                       (action or "").strip()[:30], _day(start), _day(end))


def _time(column, f: AuditFilter) -> list:
    out = []
    if f.start:
        out.append(column >= to_utc_naive(datetime.combine(f.start, datetime.min.time())))
    if f.end:
        out.append(column < to_utc_naive(datetime.combine(f.end + timedelta(days=1), datetime.min.time())))
    return out


def _names_in(conn, p: Principal, path: str | None):
    """Unique names (usernames, wall and client names) anchored in the scope and under `path` — not display
    names, which two people (or an admin choosing a name) can share."""
    names: set[str] = set()
    for model, cols in ((UserAccount, (UserAccount.username,)),
                        (KioskDevice, (KioskDevice.name,)), (ApiClient, (ApiClient.name,))):
        q = select(*cols).join(Area, Area.code == model.area_code).where(scope_condition(p, Area.path))
        if path:
            q = q.where(subtree(Area.path, path))
        for row in conn.execute(q):
            names.update(row)
    return names


def rows(conn, p: Principal, f: AuditFilter, limit: int = LIMIT) -> list[dict]:
    """The newest entries (at most `limit`) of one kind that the admin may see and the filter selects."""
    if f.kind == "events":
        q = (select(EventAudit.at, EventAudit.actor, EventAudit.action, EventAudit.event_id, Event.title,
                    EventAudit.field, EventAudit.from_value, EventAudit.to_value, EventAudit.note)
             .join(Event, Event.id == EventAudit.event_id).where(scope_condition(p, Event.area_path),
                                                                 *_time(EventAudit.at, f)))
        if f.area_path:
            q = q.where(subtree(Event.area_path, f.area_path))
        if f.person:
            q = q.where(EventAudit.actor.contains(f.person))
        if f.action:
            q = q.where(EventAudit.action == f.action)
        q = q.order_by(EventAudit.at.desc(), EventAudit.id.desc())
    elif f.kind == "changes":
        q = select(AdminChange.at, AdminChange.actor, AdminChange.action, AdminChange.target, AdminChange.before,
                   AdminChange.after).where(scope_condition(p, AdminChange.area_path), *_time(AdminChange.at, f))
        if f.area_path:
            q = q.where(subtree(AdminChange.area_path, f.area_path))
        if f.person:
            q = q.where(or_(AdminChange.actor.contains(f.person), AdminChange.target.contains(f.person)))
        if f.action:
            q = q.where(AdminChange.action == f.action)
        q = q.order_by(AdminChange.at.desc(), AdminChange.id.desc())
    else:
        q = select(AccessLog.at, AccessLog.actor, AccessLog.action, AccessLog.target, AccessLog.detail,
                   AccessLog.ip).where(*_time(AccessLog.at, f))
        if "/" not in p.scope or f.area_path:
            # rows say where their actor sat (0025); older rows are matched by unique names only
            names = sorted(_names_in(conn, p, f.area_path))
            codes = select(Area.code).where(scope_condition(p, Area.path))
            placed = scope_condition(p, AccessLog.area_path)
            if f.area_path:
                codes = codes.where(subtree(Area.path, f.area_path))
                placed = and_(placed, subtree(AccessLog.area_path, f.area_path))
            q = q.where(or_(placed, AccessLog.target.in_(names), AccessLog.target.in_(codes),
                            and_(AccessLog.area_path.is_(None), AccessLog.actor.in_(names))))
        if f.person:
            q = q.where(or_(AccessLog.actor.contains(f.person), AccessLog.target.contains(f.person)))
        if f.action:
            q = q.where(AccessLog.action == f.action)
        q = q.order_by(AccessLog.at.desc(), AccessLog.id.desc())
    return [dict(r._mapping) for r in conn.execute(q.limit(limit))]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def display(kind: str, row: dict) -> dict:
    """A row as shown and exported: local times, actions in words, before/after as JSON text."""
    out = {k: _text(row.get(k)) for k, _ in COLUMNS[kind]}
    out["at"] = format_local(row["at"], "%Y-%m-%d %H:%M:%S")
    if kind != "events":
        out["action"] = ACTIONS.get(row["action"], row["action"])
    return out


def action_options(kind: str) -> list[dict]:
    """Choices of the action filter for one kind."""
    if kind == "events":
        return []
    return [{"label": label, "value": key} for key, label in ACTIONS.items()]
