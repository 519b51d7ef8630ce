"""部门响应: how whistled departments answer — 报到率, median time to 报到 and to reply, per department and period."""
from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.core.access import scope_condition
from governance.models import Whistle
from governance.events.queries import area_by_code, areas_in
from governance.core.scope import subtree
from governance.core.timeutil import local_day_start
from governance.events.whistles import department_names, response_figures, whistle_rows

dash.register_page(__name__, path="/dept-response", title="部门响应 · 网格驾驶舱", name="部门响应")
ACCESS = "view_ledger"
PERIODS = {"7": "近 7 天", "30": "近 30 天", "90": "近 90 天", "365": "近一年"}
HEAD = ["部门", "吹哨（次）", "已报到", "报到率", "按时报到率", "报到用时中位（分钟）", "回复用时中位（分钟）",
        "超时未报到", "退回"]


def period_bounds(days: str, now):
    """[start, end] of a period: the last `days` local days up to now."""
    n = int(days) if days in PERIODS else 30
    return local_day_start(now, n - 1), now


def figures_table(area_code: str | None, days: str):
    """The 部门响应 table of an area (within the principal's scope) and period."""
    rt = current()
    now = rt.now()
    with rt.engine.connect() as conn:
        area = area_by_code(conn, area_code or home_code())
        if area is None or not covers(area.path):
            return html.P("该区域不在您的权限范围内", className="hint")
        start, end = period_bounds(days, now)
        cond = scope_condition(principal(), Whistle.area_path) & subtree(Whistle.area_path, area.path)
        rows = response_figures(whistle_rows(conn, cond, start, end), now, department_names(conn))
    if not rows:
        return html.P("该时段没有吹哨报到记录", className="hint")

    def pct(x):
        return f"{100 * x:.1f}%"

    def num(x):
        return "—" if x is None else f"{x:g}"

    return html.Table(className="data-table dept-table", children=[
        html.Thead(html.Tr([html.Th(h) for h in HEAD])),
        html.Tbody([html.Tr([html.Td(r["name"]), html.Td(r["whistled"]), html.Td(r["checked_in"]),
                             html.Td(pct(r["report_rate"])), html.Td(pct(r["on_time_rate"])),
                             html.Td(num(r["median_report_minutes"])), html.Td(num(r["median_reply_minutes"])),
                             html.Td(r["overdue"]), html.Td(r["handed_back"])],
                            **{"data-dept": r["department"]}) for r in rows])])


def layout(**_query):
    """Area and period pickers and the figures of each whistled department."""
    with current().engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        comms = areas_in(conn, focus.path, "community")
    return html.Div(className="page dept-response-page", children=[
        html.Header(className="page-header", children=[
            html.H1("部门响应（吹哨报到）"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("报到率：吹哨后已报到的比例；按时报到率：在报到时限内报到的比例；用时从吹哨起算。"
               "按事件所在区域统计，时段按吹哨时间。", className="hint"),
        html.Div(className="filters", children=[
            dcc.Dropdown(id="dept-area", value=focus.code, clearable=False,
                         options=[{"label": focus.name, "value": focus.code}]
                         + [{"label": c.name, "value": c.code} for c in comms]),
            dcc.Dropdown(id="dept-period", value="30", clearable=False,
                         options=[{"label": v, "value": k} for k, v in PERIODS.items()]),
        ]),
        html.Div(id="dept-figures", children=figures_table(focus.code, "30")),
    ])


@callback(Output("dept-figures", "children"), Input("dept-area", "value"), Input("dept-period", "value"),
          prevent_initial_call=True)
@requires("view_ledger")
def dept_figures(area, days):
    """The figures for the chosen area and period."""
    return figures_table(area if isinstance(area, str) else None, days if isinstance(days, str) else "30")
