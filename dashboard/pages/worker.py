"""A grid worker's task page (phone-sized): accept, record progress, submit the result.

/worker/<token> opens the one task its link grants (governance.task_links); /worker/mine lists the
signed-in worker's own open tasks. Only the worker's steps can be taken here: 签收, 记录进展 and
提交结果 — and only on a task the credential grants at that moment.
"""
from __future__ import annotations

import dash
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update
from sqlalchemy import select

from dashboard.auth import principal, requires
from dashboard.runtime import current
from governance.dispatch import DispatchError, add_progress, tasks_of, worker_advance
from governance.models import Staff
from governance.queries import event_detail
from governance.task_links import MINE, grant
from governance.timeutil import format_deadline
from governance.workflow import STATES

dash.register_page(__name__, path_template="/worker/<token>", title="我的任务 · 网格驾驶舱", name="我的任务")
ACCESS = "public"  # the task link in the URL (or, for /worker/mine, the session) is the credential

NO_GRANT = "链接无效、已过期或任务已改派"
STEPS = {"handle": "签收", "feedback": "提交结果", "progress": "记录进展"}


def task_card(task: dict, message: str | None = None, ok: bool = True) -> list:
    """One task: what, where, deadline, and the buttons of its next step."""
    eid, status = task["id"], task["status"]
    buttons = {"assign": [("handle", "签收")], "handle": [("feedback", "提交结果")]}.get(status, [])
    return [
        html.P(message, className="dispatch-msg ok" if ok else "dispatch-msg error") if message else None,
        html.H3(task["title"], className="task-title"),
        html.P(task.get("address") or "", className="hint"),
        html.P(task.get("description") or "", className="task-desc"),
        html.P(f"{STATES.get(status, status)} · 时限 {format_deadline(task['due_at'], current().now())}",
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


def _own_staff_id(credential) -> int | None:
    """The signed-in person's staff id when the credential is "mine" (else the token speaks for itself)."""
    return principal().staff_id if credential == MINE else None


def layout(token: str = "", **_query):
    """The tasks the credential grants now; a forged, expired, revoked or rotated link shows nothing."""
    page = html.Div(className="page worker-page")
    if token == MINE and _own_staff_id(token) is None:
        anonymous = principal().kind == "anonymous"
        page.children = [html.H1("我的任务"), html.P(
            ["登录后可查看分派给你的任务：", html.A("登录", href="/login")] if anonymous
            else "当前账号未关联网格员，没有个人任务", className="hint")]
        return page
    rt = current()
    with rt.engine.connect() as conn:
        allowed = grant(conn, token, rt.now(), staff_id=_own_staff_id(token))
        if allowed is not None:
            name = conn.execute(select(Staff.name).where(Staff.id == allowed.staff_id)).scalar()
            tasks = [t for t in tasks_of(conn, allowed.staff_id) if t["id"] in allowed.event_ids]
    if allowed is None:
        page.children = [html.H1(NO_GRANT)]
        return page
    page.children = [
        dcc.Store(id="worker-token", data=token),
        html.H1(f"{name} 的任务（{len(tasks)}）"),
        *[html.Section(id={"type": "w-task", "event": t["id"]}, className="task", children=task_card(t))
          for t in tasks],
        html.P("暂无待办任务", className="hint") if not tasks else None,
    ]
    return page


@callback(Output({"type": "w-task", "event": MATCH}, "children"),
          Input({"type": "w-step", "event": MATCH, "to": dash.ALL}, "n_clicks"),
          State({"type": "w-note", "event": MATCH}, "value"), State({"type": "w-photo", "event": MATCH}, "value"),
          State("worker-token", "data"), prevent_initial_call=True)
@requires("public")
def worker_step(_clicks, note, photo, credential):
    """签收 / 记录进展 / 提交结果 on a task the page's credential grants right now; nothing else."""
    trig = ctx.triggered_id
    if not trig or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update
    eid, to = trig.get("event"), trig.get("to")
    if not isinstance(eid, int) or isinstance(eid, bool):
        return no_update
    refused = [html.P(NO_GRANT, className="dispatch-msg error")]
    if not isinstance(credential, str):
        return refused
    note = note if isinstance(note, str) else ""
    photo = photo if isinstance(photo, str) else ""
    rt = current()
    message, ok = None, True
    try:
        with rt.engine.begin() as conn:
            allowed = grant(conn, credential, rt.now(), staff_id=_own_staff_id(credential))
            if allowed is None or eid not in allowed.event_ids:
                return refused
            if not isinstance(to, str) or to not in STEPS:
                raise DispatchError("任务页只能签收、记录进展或提交结果")
            name = conn.execute(select(Staff.name).where(Staff.id == allowed.staff_id)).scalar()
            if to == "progress":
                add_progress(conn, eid, name, rt.now(), note, photo_links=(photo,) if photo else ())
                message = "进展已记录"
            else:
                message = "已" + worker_advance(conn, eid, allowed.staff_id, to, name, rt.now(), note or None)
    except DispatchError as exc:
        message, ok = str(exc), False
    with rt.engine.connect() as conn:
        detail = event_detail(conn, eid)
    return task_card(detail, message, ok)
