"""The 一键启动办理 panel inside an event's detail: suggestions, one-click dispatch, next steps."""
from __future__ import annotations

from dash import dcc, html

from governance.events.dispatch import suggest_assignees
from governance.models import STAFF_ROLES
from governance.events.task_links import WORKER_STATES, current_link
from governance.core.timeutil import format_when
from governance.alerts.warning_lifecycle import open_warning_for_event
from governance.core.workflow import LEVELS, STATES

from ..links import task_href
from ..runtime import current


def dispatch_panel(detail: dict, message: str | None = None, ok: bool = True, new_link: str | None = None) -> list:
    """Actions that fit the event's step, with the last action's outcome on top.

    `new_link` is the raw token of a task link the action just minted: shown this once (it is stored
    only hashed); afterwards the panel says until when the link is valid and offers 收回/重新生成.
    """
    eid, status = detail["id"], detail["status"]
    parts: list = []
    if message:
        parts.append(html.P(message, className="dispatch-msg ok" if ok else "dispatch-msg error"))
    if status in ("collect", "discover", "assign"):
        with current().engine.connect() as conn:
            best, depts = suggest_assignees(conn, eid, current().now())
        verb = "改派" if status == "assign" else "派单"
        parts.append(html.H4("推荐承办人（一键派单）" if status != "assign" else "改派给"))
        parts.append(html.Ul(className="suggestions", children=[html.Li(className="suggestion", children=[
            html.Button(verb, id={"type": "dispatch-to", "event": eid, "staff": s.staff_id}, n_clicks=0,
                        className="action-button primary"),
            html.Span(f"{s.name}（{STAFF_ROLES.get(s.role, s.role)}）", className="sugg-name"),
            html.Span(f"{s.score:g} 分", className="sugg-score"),
            html.Span("；".join(s.reasons), className="sugg-reasons"),
        ]) for s in best if s.staff_id != detail.get("assignee_staff_id")]))
        if depts and status != "assign":
            parts.append(dcc.Checklist(id={"type": "depts", "event": eid}, className="dept-list",
                                       value=[d["code"] for d in depts],
                                       options=[{"label": f"吹哨：{d['name']}（{d['reason']}）", "value": d["code"]}
                                                for d in depts]))
        else:
            parts.append(dcc.Checklist(id={"type": "depts", "event": eid}, value=[], options=[],
                                       style={"display": "none"}))
    else:
        parts.append(dcc.Checklist(id={"type": "depts", "event": eid}, value=[], options=[],
                                   style={"display": "none"}))
        parts.append(html.Button(id={"type": "dispatch-to", "event": eid, "staff": 0}, n_clicks=0,
                                 style={"display": "none"}))
    steps = {"assign": [("discover", "召回")], "feedback": [("closed", "核查办结"), ("handle", "退回返工")],
             "returned": [("discover", "重新受理")],
             "collect": [("discover", "核实属实（立案）"), ("returned", "核实不属实（退回）")]}.get(status, [])
    parts.extend(verification_note(eid))
    if detail.get("assignee_staff_id") and status in ("assign", "handle", "feedback"):
        parts.append(task_link_section(eid, status, new_link))
    parts.append(html.Div(className="step-buttons", children=[
        dcc.Input(id={"type": "step-note", "event": eid}, placeholder="说明（退回原因等）", className="note-input",
                  style={} if steps else {"display": "none"}),
        *[html.Button(label, id={"type": "step", "event": eid, "to": to}, n_clicks=0, className="action-button")
          for to, label in steps],
        html.Button(id={"type": "step", "event": eid, "to": "_none"}, n_clicks=0, style={"display": "none"}),
    ]))
    if status in ("collect", "discover", "assign", "handle", "feedback"):
        level = detail.get("handling_level", "grid")
        order = list(LEVELS)
        moves = []
        if order.index(level) < len(order) - 1:
            moves.append((order[order.index(level) + 1], "升级到" + LEVELS[order[order.index(level) + 1]]))
        if order.index(level) > 0:
            moves.append((order[order.index(level) - 1], "降级到" + LEVELS[order[order.index(level) - 1]]))
        parts.append(html.Div(className="step-buttons", children=[
            html.Span(f"处置层级：{LEVELS[level]}", className="hint"),
            *[html.Button(label, id={"type": "set-level", "event": eid, "level": to}, n_clicks=0,
                          className="action-button") for to, label in moves]]))
    warning = open_warning(eid)
    if warning is not None:
        parts.append(html.Div(className="step-buttons", children=[
            html.Span(f"已确认：{warning.acknowledged_by}（{format_when(warning.acknowledged_at, current().now())}）"
                      if warning.acknowledged_by else "预警尚未确认", className="hint"),
            html.Button("确认预警", id={"type": "ack", "event": eid, "warning": warning.id}, n_clicks=0,
                        className="action-button", style={"display": "none"} if warning.acknowledged_by else {}),
        ]))
    visit_hidden = status != "closed"
    parts.append(html.Div(className="visit", style={"display": "none"} if visit_hidden else {}, children=[
        html.Span("回访满意度：", className="hint"),
        dcc.RadioItems(id={"type": "visit-score", "event": eid}, inline=True, value=detail.get("satisfaction"),
                       options=[{"label": f"{n} 分", "value": n} for n in range(5, 0, -1)]),
        html.Button("保存回访", id={"type": "visit-save", "event": eid}, n_clicks=0, className="action-button"),
    ]))
    parts.append(html.P(f"当前步骤：{STATES.get(status, status)}", className="hint"))
    return parts


def task_link_section(eid: int, status: str, new_link: str | None) -> html.Div:
    """The assignee's task link: the link itself right after minting, else its validity; 收回 / 重新生成."""
    now = current().now()
    with current().engine.connect() as conn:
        live = current_link(conn, eid, now)
    if new_link:
        text = ["承办人任务链接（只显示这一次，已同时推送给承办人）：",
                html.A(task_href(new_link), href=task_href(new_link), target="_blank", className="worker-link")]
        if live is not None:
            text.append(f"（有效至 {format_when(live.expires_at, now)}）")
    elif live is not None:
        text = [f"任务链接已发出（有效至 {format_when(live.expires_at, now)}）"]
    else:
        text = ["尚无有效的任务链接"]
    buttons = []
    if live is not None:
        buttons.append(html.Button("收回任务链接", id={"type": "task-link", "event": eid, "do": "revoke"},
                                   n_clicks=0, className="action-button"))
    if status in WORKER_STATES:
        buttons.append(html.Button("重新生成任务链接", id={"type": "task-link", "event": eid, "do": "issue"},
                                   n_clicks=0, className="action-button"))
    return html.Div(className="step-buttons task-link", children=[html.Span(text, className="hint"), *buttons])


def verification_note(event_id: int) -> list:
    """核实: why dispatch waits for it, or who verified the report and when (issue #20)."""
    from governance.events.verification import VERDICT, dispatch_problem, verification_of

    with current().engine.connect() as conn:
        problem, done = dispatch_problem(conn, event_id), verification_of(conn, event_id)
    if problem:
        return [html.P(problem, className="hint verify-needed")]
    if done is not None:
        return [html.P(f"核实：{VERDICT[done.verdict]}（{done.verified_by}，"
                       f"{format_when(done.verified_at, current().now())}）", className="hint verify-done")]
    return []


def open_warning(event_id: int):
    """The event's open warning row (or None)."""
    with current().engine.connect() as conn:
        return open_warning_for_event(conn, event_id)
