"""A 关爱走访 card on the worker's phone: the household (address, members masked as the registry masks them,
special groups), the plan, the due date with its date and 超期 N 天, and the visit form (time, note, needs,
and 发现问题，上报事件). Its button is handled by assets/worker_queue.js like the task actions: the visit is
kept on the phone first (待发送) and sent once to /api/v1/worker/visits.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from dash import dcc, html

from data_sources.visit_events import category_choices
from governance.core.timeutil import format_overdue, to_local
from governance.people.visit_phone import phone_visits


def _choices(groups: list[str]) -> list[tuple[str, str]]:
    """The problem categories, the one that fits the household first (the select shows the first)."""
    first = "3102" if groups == ["残疾人"] else "3101"
    return sorted(category_choices(), key=lambda c: c[0] != first)


def due_text(due: datetime) -> str:
    """A visit's deadline as the phone shows it; midnight is written as 24:00 of the day before (a 敲门行动's
    due date '2026-11-27' is due at 2026-11-27 24:00, not '11-28 00:00')."""
    local = to_local(due)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def visit_card(task: dict, now: datetime) -> list:
    """The card's children for one open visit task (every text as plain text)."""
    vid, late = task["id"], format_overdue(task["due_at"], now)
    members = "、".join(task.get("members") or []) or "—"
    local_now = to_local(now).strftime("%Y-%m-%dT%H:%M")
    return [
        html.H3([f"关爱走访 · {task['what']}",  # a 敲门行动's task is marked with the campaign's name
                 html.Span("敲门行动", className="campaign-badge") if task.get("campaign") else None],
                className="task-title"),
        html.P(["地址：", task.get("address") or "地址未登记"], className="task-where"),
        html.P([f"在册成员：{members}", html.Br(), "特殊人群：" + ("、".join(task.get("groups") or []) or "—")],
               className="task-desc visit-household"),
        html.P([f"走访时限 {due_text(task['due_at'])}",
                html.Span(late, className="overdue-badge") if late else None], className="task-state"),
        html.Label(["走访时间", dcc.Input(type="datetime-local", value=local_now, className="v-when",
                                       id={"type": "v-when", "visit": vid})], className="v-field"),
        dcc.Textarea(placeholder="走访情况（身体、居住、安全等）", className="w-note v-note",
                     id={"type": "v-note", "visit": vid}),
        dcc.Textarea(placeholder="困难与需求（可不填）", className="w-note v-needs", id={"type": "v-needs", "visit": vid}),
        html.Details(className="v-report", children=[
            html.Summary("发现问题，上报事件"),
            html.Select([html.Option(name, value=code) for code, name in _choices(task.get("groups") or [])],
                        className="v-category"),
            dcc.Textarea(placeholder="问题描述（将作为事件进入事件池）", className="w-note v-report-text",
                         id={"type": "v-report-text", "visit": vid}),
        ]),
        html.Div(className="w-buttons", children=[
            html.Button("记录走访", className="action-button primary w-visit", n_clicks=0,
                        **{"data-visit": str(vid)})]),
    ]


def visit_section(conn, staff_id: int, now: datetime) -> list:
    """The 关爱走访 part of /worker/mine: a heading and one card per open visit of the worker."""
    tasks = phone_visits(conn, staff_id, now)
    if not tasks:
        return []
    return [html.H2(f"关爱走访（{len(tasks)}）", className="visit-heading"), *[
        html.Div(className="task-wrap visit-wrap", children=[
            html.P(id={"type": "v-msg", "visit": t["id"]}, className="dispatch-msg"),
            html.Section(id={"type": "v-task", "visit": t["id"]}, className="task visit-task",
                         children=visit_card(t, now)),
        ]) for t in tasks]]
