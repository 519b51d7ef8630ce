"""Event detail: what, where, deadline, warning reasons and the full history — as text."""
from __future__ import annotations

from datetime import datetime

from dash import html

from data_sources.registry import actor_label, source_label, source_short
from governance.core.privacy import mask_name, mask_phone
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import format_deadline, format_local, format_overdue, format_when
from governance.alerts.warnings import LABELS
from governance.core.workflow import LEVELS, SEVERITIES, STATES, TERMINAL_STATES

from .dispatch_panel import dispatch_panel
from .event_list import now_utc
from .photo_strip import photo_strip
from .point_map import point_map

# event_audit.field → what a leader reads (fields written in Chinese, e.g. 任务链接, show as they are).
FIELD_LABELS = {"status": "状态", "source_status": "源系统状态", "duplicate_of_id": "关联重复",
                "closed_at": "办结时间", "satisfaction": "满意度", "due_at": "办理时限",
                "handling_level": "处置层级", "assignee_staff_id": "承办人", "departments": "承办部门",
                "note": "说明", "category_code": "类别", "title": "标题", "description": "描述", "address": "地址"}


def _when(value, now: datetime) -> str:
    """An audited time (stored as naive-UTC ISO text) as format_when shows it."""
    try:
        return format_when(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)), now)
    except ValueError:
        return str(value)


def _value(field: str, value, now: datetime, departments: dict[str, str]) -> str:
    """One side of an audited change in Chinese: states, levels, departments and categories by name."""
    if value is None or value == "":
        return "—"
    if field == "status":
        return STATES.get(value, value)
    if field == "handling_level":
        return LEVELS.get(value, value)
    if field == "departments":
        return "、".join(departments.get(c, c) for c in str(value).split(",") if c)
    if field in ("closed_at", "due_at"):
        return _when(value, now)
    if field == "satisfaction":
        return f"{value} 分"
    if field == "duplicate_of_id":
        return f"事件 #{value}"
    if field == "category_code":
        cat = load_taxonomy().categories.get(value)
        return cat.name if cat else str(value)
    return str(value)


def history_change(h: dict, now: datetime, departments: dict[str, str] | None = None) -> tuple[str, str]:
    """(change, note) of a history entry as read: 处置层级：社区 → 街道; an entry that changes no value
    (a progress note) reads as its note; departments joining read as their names."""
    departments = departments or {}
    label = FIELD_LABELS.get(h["field"], h["field"])
    if h["from_value"] is None and h["to_value"] is None:
        return (h["note"] or "", "")
    if h["field"] == "departments" and h["from_value"] is None:
        return (f"{label}：{_value('departments', h['to_value'], now, departments)}", h["note"] or "")
    return (f"{label}：{_value(h['field'], h['from_value'], now, departments)}"
            f" → {_value(h['field'], h['to_value'], now, departments)}", h["note"] or "")


def deadline_text(detail: dict, now: datetime) -> str:
    """时限 with its date (and year) and 超期 N 天: counted to now while open, to the closing when done."""
    due = detail.get("due_at")
    if due is None or detail["status"] not in TERMINAL_STATES:
        return format_deadline(due, now)
    late = format_overdue(due, detail["closed_at"]) if detail.get("closed_at") else ""
    return format_when(due, now) + (f"（{late}办结）" if late else "")


def source_text(detail: dict) -> str:
    """来源: the feed's Chinese name, and the channel when it says more (12345, 蓉e报 …)."""
    code, channel = detail["source"], detail.get("channel")
    return source_label(code) + (f" · {channel}" if channel and channel not in (source_label(code), source_short(code))
                                 else "")


def reporter_cell(detail: dict, principal) -> list:
    """The reporter, masked; roles allowed to unmask get a button that reveals it (and is logged)."""
    masked = f"{mask_name(detail.get('reporter_name'))} {mask_phone(detail.get('reporter_phone'))}".strip() or "—"
    cell = [html.Span(masked, id={"type": "reporter", "event": detail["id"]}, className="reporter")]
    if principal.can("unmask") and masked != "—":
        cell.append(html.Button("显示完整信息（留痕）", id={"type": "unmask", "event": detail["id"]}, n_clicks=0,
                                className="link-button unmask"))
    return cell


def event_detail_view(detail: dict, warning: tuple[str, list[str]] | None, principal,
                      now: datetime | None = None) -> list:
    """The detail panel's children for one event as `principal` may see it (citizen text as plain text).

    The card is one output (`{"type": "event-card", "event": id}`): an action in its dispatch panel
    redraws the whole card, so status, assignee and history show what the action did."""
    return [html.Div(id={"type": "event-card", "event": detail["id"]}, className="event-card",
                     children=event_card(detail, warning, principal, now))]


def event_card(detail: dict, warning: tuple[str, list[str]] | None, principal, now: datetime | None = None,
               message: str | None = None, ok: bool = True, new_link: str | None = None) -> list:
    """The card's children: facts, minimap, description, dispatch panel (with an action's outcome), history."""
    now = now or now_utc()
    level, reasons = warning or ("none", [])
    minimap = point_map(detail, "detail-map", zoom_control=True)
    departments = detail.get("department_names") or {}
    history = []
    for h in detail["history"]:
        change, note = history_change(h, now, departments)
        history.append(html.Li([
            html.Span(format_when(h["at"], now), className="hist-time", title=format_local(h["at"], "%Y-%m-%d %H:%M")),
            html.Span(h["action"], className="hist-action"),
            html.Span(change, className="hist-change"),
            html.Span(actor_label(h["actor"]), className="hist-actor"),  # a feed by its label, a push client named
            html.Span(note, className="hist-note")]))
    facts = [
        ("类别", detail["category"]), ("来源", source_text(detail)),
        ("编号", detail["source_key"]), ("地点", " / ".join(detail["chain"][2:]) or detail["address"] or "网格外"),
        ("状态", STATES.get(detail["status"], detail["status"])),
        ("等级", SEVERITIES.get(detail["severity"], "")), ("处置层级", LEVELS.get(detail["handling_level"], "")),
        ("上报", format_when(detail["reported_at"], now)),
        ("时限", deadline_text(detail, now)),
        ("承办人", detail.get("assignee") or "—"),
        ("报事人", reporter_cell(detail, principal)),
    ]
    return [
        html.Div(className="detail-head", children=[
            html.Span(LABELS[level], className=f"warn-badge big detail-badge lv-{level}"),
            html.H3(detail["title"], className="detail-title"),
        ]),
        html.Ul([html.Li(r, className="detail-reason") for r in reasons], className="detail-reasons")
        if reasons else None,
        html.Div(className="detail-body", children=[
            html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))], className="detail-facts"),
            minimap,
        ]),
        html.P(detail["description"], className="detail-description"),
        photo_strip(detail, now),
        html.Div(id={"type": "dispatch-panel", "event": detail["id"]}, className="dispatch-panel",
                 children=dispatch_panel(detail, message, ok, new_link=new_link)) if principal.can("dispatch") else None,
        html.H4("流转记录"),
        html.Ul(history, className="detail-history dated-history"),
    ]

