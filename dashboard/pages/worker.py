"""A grid worker's task page (phone-sized): accept, record progress and photos, submit the result.

/worker/<token> opens the one task its link grants (governance.events.task_links); /worker/mine lists the
signed-in worker's own open tasks. Only the worker's steps can be taken here: 签收, 记录进展 (a note
and/or a camera photo) and 提交结果 — and only on a task the credential grants at that moment.
Each tap is queued on the phone by assets/worker_queue.js (kept while there is no signal, shown as
待发送) and sent once to /api/v1/worker/actions (dashboard/worker_routes.py); after an answer the
script bumps the task's `w-sent` store and `worker_card` redraws the card from the database.
"""
from __future__ import annotations

import dash
from dash import MATCH, Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.task_card import task_card
from dashboard.components.visit_card import visit_section
from dashboard.runtime import current
from dashboard.worker_routes import max_photo_bytes
from governance.events.dispatch import staff_name, tasks_of
from governance.events.queries import event_detail
from governance.events.task_links import MINE, grant

dash.register_page(__name__, path_template="/worker/<token>", title="我的任务 · 网格驾驶舱", name="我的任务")
ACCESS = "public"  # the task link in the URL (or, for /worker/mine, the session) is the credential

NO_GRANT = "链接无效、已过期或任务已改派"


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
            name = staff_name(conn, allowed.staff_id)
            tasks = [event_detail(conn, t["id"]) for t in tasks_of(conn, allowed.staff_id)
                     if t["id"] in allowed.event_ids]
            visits = visit_section(conn, allowed.staff_id, rt.now()) if token == MINE else []  # 关爱走访 (#19)
    if allowed is None:
        page.children = [html.H1(NO_GRANT)]
        return page
    now = rt.now()
    return html.Div(className="page worker-page queue-page", children=[
        dcc.Store(id="worker-token", data=token),
        html.H1(f"{name} 的任务（{len(tasks)}）"),
        dcc.Link("统一表单 →", href="/worker/forms", className="back-link") if token == MINE else None,  # (#19)
        *[html.Div(className="task-wrap", children=[
            dcc.Store(id={"type": "w-sent", "event": t["id"]}, data=0),
            html.P(id={"type": "w-msg", "event": t["id"]}, className="dispatch-msg"),
            html.Section(id={"type": "w-task", "event": t["id"]}, className="task", children=task_card(t, now)),
        ]) for t in tasks],
        html.P("暂无待办任务", className="hint") if not tasks else None,
        *visits,
    ], **{"data-credential": token, "data-photo-max": str(max_photo_bytes())})


@callback(Output({"type": "w-task", "event": MATCH}, "children"),
          Input({"type": "w-sent", "event": MATCH}, "data"), State("worker-token", "data"),
          prevent_initial_call=True)
@requires("public")
def worker_card(sent, credential):
    """Redraw a task card after the phone's queue delivered an action (only a task the credential grants)."""
    eid = (dash.ctx.triggered_id or {}).get("event")
    if not sent or not isinstance(eid, int) or isinstance(eid, bool) or not isinstance(credential, str):
        return no_update
    rt = current()
    with rt.engine.connect() as conn:
        allowed = grant(conn, credential, rt.now(), staff_id=_own_staff_id(credential))
        if allowed is None or eid not in allowed.event_ids:
            return [html.P("任务已交回指挥中心，本链接不再可操作", className="hint")]
        return task_card(event_detail(conn, eid), rt.now())



