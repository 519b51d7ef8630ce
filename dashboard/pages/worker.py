"""A grid worker's task page (phone-sized): accept, record progress, submit the result."""
from __future__ import annotations

import dash
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update
from sqlalchemy import select

from dashboard.auth import requires
from dashboard.links import staff_from_token
from dashboard.runtime import current
from governance.dispatch import DispatchError, add_progress, advance, tasks_of
from governance.models import Staff
from governance.queries import event_detail
from governance.timeutil import format_local
from governance.workflow import STATES

dash.register_page(__name__, path_template="/worker/<token>", title="我的任务 · 网格驾驶舱", name="我的任务")
ACCESS = "public"  # the signed link in the URL is the credential


def task_card(task: dict, message: str | None = None, ok: bool = True) -> list:
    """One task: what, where, deadline, and the buttons of its next step."""
    eid, status = task["id"], task["status"]
    buttons = {"assign": [("handle", "签收")], "handle": [("feedback", "提交结果")]}.get(status, [])
    return [
        html.P(message, className="dispatch-msg ok" if ok else "dispatch-msg error") if message else None,
        html.H3(task["title"], className="task-title"),
        html.P(task.get("address") or "", className="hint"),
        html.P(task.get("description") or "", className="task-desc"),
        html.P(f"{STATES.get(status, status)} · 时限 {format_local(task['due_at'], '%m-%d %H:%M')}",
               className="task-state"),
        dcc.Textarea(id={"type": "w-note", "event": eid}, placeholder="处置说明", className="w-note",
                     style={} if status == "handle" else {"display": "none"}),
        dcc.Input(id={"type": "w-photo", "event": eid}, placeholder="照片链接（https://…）", className="w-photo",
                  style={} if status == "handle" else {"display": "none"}),
        html.Div(className="w-buttons", children=[
            html.Button("记录进展", id={"type": "w-step", "event": eid, "to": "progress"}, n_clicks=0,
                        className="action-button", style={} if status == "handle" else {"display": "none"}),
            *[html.Button(label, id={"type": "w-step", "event": eid, "to": to}, n_clicks=0,
                          className="action-button primary") for to, label in buttons],
        ]),
    ]


def layout(token: str = "", **_query):
    """The worker's open tasks; a forged link shows nothing."""
    staff_id = staff_from_token(token)
    if staff_id is None:
        return html.Div(className="page worker-page", children=[html.H1("链接无效或已过期")])
    with current().engine.connect() as conn:
        name = conn.execute(select(Staff.name).where(Staff.id == staff_id)).scalar()
        tasks = tasks_of(conn, staff_id)
    return html.Div(className="page worker-page", children=[
        dcc.Store(id="worker-token", data=token),
        html.H1(f"{name} 的任务（{len(tasks)}）"),
        *[html.Section(id={"type": "w-task", "event": t["id"]}, className="task", children=task_card(t))
          for t in tasks],
        html.P("暂无待办任务", className="hint") if not tasks else None,
    ])


@callback(Output({"type": "w-task", "event": MATCH}, "children"),
          Input({"type": "w-step", "event": MATCH, "to": dash.ALL}, "n_clicks"),
          State({"type": "w-note", "event": MATCH}, "value"), State({"type": "w-photo", "event": MATCH}, "value"),
          State("worker-token", "data"), prevent_initial_call=True)
@requires("public")
def worker_step(_clicks, note, photo, token):
    """签收 / 记录进展 / 提交结果 for a task that belongs to the signed-in worker's link."""
    trig = ctx.triggered_id
    if not trig or not ctx.triggered[0]["value"]:
        return no_update
    staff_id = staff_from_token(token)
    rt = current()
    with rt.engine.connect() as conn:
        detail = event_detail(conn, trig["event"])
        name = conn.execute(select(Staff.name).where(Staff.id == staff_id)).scalar()
    if staff_id is None or detail is None or detail["assignee_staff_id"] != staff_id:
        return [html.P("该任务不属于你", className="dispatch-msg error")]
    message, ok = None, True
    try:
        with rt.engine.begin() as conn:
            if trig["to"] == "progress":
                add_progress(conn, trig["event"], name, rt.now(), note or "", photo_links=(photo,) if photo else ())
                message = "进展已记录"
            else:
                message = "已" + advance(conn, trig["event"], trig["to"], name, rt.now(), note or None)
    except DispatchError as exc:
        message, ok = str(exc), False
    with rt.engine.connect() as conn:
        detail = event_detail(conn, trig["event"])
    return task_card(detail, message, ok)
