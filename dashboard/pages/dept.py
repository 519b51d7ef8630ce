"""本部门报到: a department's own 吹哨 requests — 报到, 回复 or 退回 (with a reason), each in the event's history."""
from __future__ import annotations

import dash
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.whistle_card import whistle_card
from dashboard.runtime import current
from governance.core.access import scope_condition
from governance.models import Whistle
from governance.events.whistles import (WhistleError, check_in, department_names, department_requests, hand_back,
                                 reply)

dash.register_page(__name__, path="/dept", title="本部门报到 · 网格驾驶舱", name="本部门报到")
ACCESS = "respond_whistle"


def _rows():
    p = principal()
    if not p.department:
        return [], ""
    with current().engine.connect() as conn:
        rows = department_requests(conn, p.department, scope_condition(p, Whistle.area_path))
        name = department_names(conn).get(p.department, p.department)
    return rows, name


def layout(**_query):
    """The department's requests, open ones first, each with its actions."""
    rows, name = _rows()
    now = current().now()
    pending = sum(r["status"] == "pending" for r in rows)
    return html.Div(className="page dept-page", children=[
        html.Header(className="page-header", children=[
            html.H1(f"本部门报到 · {name or '未绑定部门'}"),
            html.Form(method="post", action="/logout", className="logout-form", children=[
                dcc.Input(type="hidden", name="csrf_token", value=principal().csrf or ""),
                html.Button("退出登录", type="submit", className="link-button")])]),
        html.P(f"待报到 {pending} 件。报到表示本部门已接手；回复写明处置情况；不属于本部门职责的请“退回”并写明原因。"
               if name else "此账号尚未绑定部门，请联系管理员。", className="hint"),
        html.Div(className="whistle-list", children=[
            html.Div(whistle_card(r, now), id={"type": "whistle-card", "whistle": r["id"]}, className="whistle-card")
            for r in rows] or [html.P("暂无吹哨请求", className="hint")]),
    ])


@callback(Output({"type": "whistle-card", "whistle": MATCH}, "children"),
          Input({"type": "whistle-do", "whistle": MATCH, "do": ALL}, "n_clicks"),
          State({"type": "whistle-text", "whistle": MATCH}, "value"), prevent_initial_call=True)
@requires("respond_whistle")
def whistle_act(_clicks, text):
    """报到, 回复 or 退回 on one request of the principal's own department (the guard checked the id)."""
    trig = ctx.triggered_id
    if not trig or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update
    p, rt = principal(), current()
    wid = trig.get("whistle")
    if not isinstance(wid, int) or isinstance(wid, bool) or not p.department:
        return no_update
    actor = p.name
    message, ok = None, True
    try:
        with rt.engine.begin() as conn:
            if trig.get("do") == "checkin":
                check_in(conn, wid, actor, rt.now(), department=p.department)
                message = "已报到"
            elif trig.get("do") == "reply":
                reply(conn, wid, text, actor, rt.now(), department=p.department)
                message = "回复已提交"
            elif trig.get("do") == "handback":
                hand_back(conn, wid, text, actor, rt.now(), department=p.department)
                message = "已退回，街道指挥中心会看到退回原因"
            else:
                return no_update
    except WhistleError as exc:
        message, ok = str(exc), False
    with rt.engine.connect() as conn:
        rows = department_requests(conn, p.department, (Whistle.id == wid) & scope_condition(p, Whistle.area_path))
    return whistle_card(rows[0], rt.now(), message, ok) if rows else no_update
