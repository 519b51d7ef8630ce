"""骑手积分: riders' points for reports verified 属实, per community, and the export for the 兑换 desk."""
from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dashboard.auth import covers, home_code, requires
from dashboard.runtime import current
from governance.events.queries import area_by_code, areas_in
from governance.core.timeutil import format_local
from governance.events.verification import leaderboard

dash.register_page(__name__, path="/points", title="骑手积分 · 网格驾驶舱", name="骑手积分")
ACCESS = "view_ledger"
HEAD = ["名次", "姓名", "电话", "所在区域", "核实属实上报（件）", "积分", "最近得分"]


def board_view(area_code: str | None):
    """The leaderboard of an area in the principal's scope, with its export link."""
    with current().engine.connect() as conn:
        area = area_by_code(conn, area_code or home_code())
        if area is None or not covers(area.path):
            return html.P("该区域不在您的权限范围内", className="hint")
        board = leaderboard(conn, area.path)
    return html.Div([
        html.P(html.A("导出兑换清单（CSV）", href=f"/api/v1/rider-points.csv?area={area.code}",
                      className="action-button", id="points-export")),
        html.Table(className="data-table points-table", children=[
            html.Thead(html.Tr([html.Th(h) for h in HEAD])),
            html.Tbody([html.Tr([html.Td(r["rank"]), html.Td(r["name"]), html.Td(r["phone"]), html.Td(r["area"]),
                                 html.Td(r["reports"]), html.Td(r["points"]),
                                 html.Td(format_local(r["last_at"]) if r["last_at"] else "—")],
                                **{"data-staff": str(r["id"])}) for r in board])]) if board
        else html.P("该区域没有登记的流动微网格员（骑手）", className="hint")])


def layout(area: str | None = None, **_query):
    """Community picker (`?area=` opens on one) and the riders' leaderboard (以积分享兑换)."""
    with current().engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        comms = areas_in(conn, focus.path, "community")
    first = comms[0].code if comms and focus.level != "community" else focus.code
    if area in {c.code for c in comms}:
        first = area
    return html.Div(className="page points-page", children=[
        html.Header(className="page-header", children=[
            html.H1("骑手积分（以积分享兑换）"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("流动微网格员（骑手）上报的问题经社区核实属实后按规则记分，每件只记一次；核实不属实不记分。",
               className="hint"),
        html.Div(className="points-controls", children=[
            dcc.Dropdown(id="points-area", value=first, clearable=False,
                         options=[{"label": focus.name, "value": focus.code}]
                         + [{"label": c.name, "value": c.code} for c in comms])]),
        html.Div(id="points-board", children=board_view(first)),
    ])


@callback(Output("points-board", "children"), Input("points-area", "value"), prevent_initial_call=True)
@requires("view_ledger")
def points_board(area):
    """The leaderboard of the chosen community."""
    return board_view(area if isinstance(area, str) else None)
