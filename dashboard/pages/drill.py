"""网格赶考: start a drill for an area and watch how fast each community's workers respond."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.core.access import scope_condition
from governance.models import Event
from governance.alerts.rules_in_force import current_rules
from governance.events.drills import drill_report, expire_drills, list_drills, start_drill, worker_results
from governance.events.queries import area_by_code, areas_in

dash.register_page(__name__, path="/drill", title="网格赶考 · 网格驾驶舱", name="网格赶考")
ACCESS = "run_drills"


def _rules():
    """The drill rules in force (participation.yaml)."""
    from governance.events.participation import load_participation

    return load_participation()


def _scope():
    """SQL condition keeping drill events inside the principal's scope."""
    return scope_condition(principal(), Event.area_path)


def _report_table(drill_id: str) -> html.Div:
    with current().engine.begin() as conn:
        expire_drills(conn, current().now())  # tasks past the expiry close as missed before they are counted
    with current().engine.connect() as conn:
        rows = drill_report(conn, drill_id, current().now(), _scope())
        workers = worker_results(conn, drill_id, current().now(), _scope())
    head = ["社区", "派出", "已签收", "已完成", "签收中位（分钟）", "最慢（分钟）", "未签收已等（分钟）"]
    return html.Div([html.P(html.A("打印报告", href=f"/drill/{drill_id}/print", target="_blank",
                                   className="action-button")),
                     html.Table(className="data-table drill-table", children=[
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr([html.Td(r["community"]), html.Td(r["sent"]), html.Td(r["accepted"]),
                             html.Td(r["finished"]), html.Td(r["median_minutes"] if r["median_minutes"] is not None else "—"),
                             html.Td(r["slowest_minutes"] if r["slowest_minutes"] is not None else "—"),
                             html.Td(r["waiting_minutes"])]) for r in rows])]),
                     html.H3("每人结果"), worker_table(workers)])


def worker_table(workers: list[dict]) -> html.Table:
    """Every worker's drill result: responded, minutes to 签收 and to 提交结果 (missed ones marked)."""
    def state(w):
        return "已签收" if w["responded"] else ("超时未签收" if w["missed"] else "未签收")

    def num(x):
        return "—" if x is None else f"{x:g}"
    head = ["社区", "微网格", "网格员", "是否响应", "签收用时（分钟）", "提交结果用时（分钟）"]
    return html.Table(className="data-table drill-workers", children=[
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr([html.Td(w["community"]), html.Td(w["grid"]), html.Td(w["worker"]), html.Td(state(w)),
                             html.Td(num(w["accept_minutes"])), html.Td(num(w["submit_minutes"]))],
                            className="missed" if w["missed"] else None) for w in workers])])


def layout(**_query):
    """Area and size of a new drill, and the report of the latest drills."""
    with current().engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        comms = areas_in(conn, focus.path, "community")
        drills = list_drills(conn, _scope())
    return html.Div(className="page drill-page", children=[
        html.Header(className="page-header", children=[
            html.H1("网格赶考（随机派单演练）"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("演练事件照常出现在网格员的任务页，但不计入任何办结率、预警和排名。"
               f"赶考只在 {_rules().drill_start}–{_rules().drill_end} 发起；派出 {_rules().drill_expiry_hours:g} 小时"
               "未签收的任务按“超时未签收”关闭。", className="hint"),
        html.Div(className="filters drill-form", children=[
            dcc.Dropdown(id="drill-area", value=focus.code, clearable=False,
                         options=[{"label": focus.name + "（全街道）", "value": focus.code}]
                         + [{"label": c.name, "value": c.code} for c in comms]),
            dcc.Input(id="drill-count", type="number", min=1, max=200, value=20, className="search-box"),
            html.Button("开始赶考", id="drill-start", n_clicks=0, className="action-button primary"),
            html.Span(id="drill-msg", className="hint"),
        ]),
        dcc.Dropdown(id="drill-pick", value=drills[0]["drill_id"] if drills else None, clearable=False,
                     options=[{"label": f"{d['drill_id']}（{d['events']} 件）", "value": d["drill_id"]} for d in drills]),
        html.Div(id="drill-report", children=_report_table(drills[0]["drill_id"]) if drills else None),
    ])


@callback(Output("drill-msg", "children"), Output("drill-pick", "options"), Output("drill-pick", "value"),
          Input("drill-start", "n_clicks"), State("drill-area", "value"), State("drill-count", "value"),
          prevent_initial_call=True)
@requires("run_drills")
def start(n, area, count):
    """Start a drill and select it (only inside the principal's scope)."""
    if not n:
        return no_update, no_update, no_update
    with current().engine.connect() as conn:
        target = area_by_code(conn, area or "")
    if target is None or not covers(target.path):
        return "该区域不在您的权限范围内", no_update, no_update
    try:
        with current().engine.begin() as conn:
            drill_id = start_drill(conn, area, int(count or 0), principal().name, current().now(),
                                   tiers=current_rules(conn).sla_tiers_hours)
            drills = list_drills(conn, _scope())
    except ValueError as exc:
        return str(exc), no_update, no_update
    sent = next(d["events"] for d in drills if d["drill_id"] == drill_id)  # others may have started at once
    return (f"已向 {sent} 个微网格派出演练事件", [{"label": f"{d['drill_id']}（{d['events']} 件）",
                                                       "value": d["drill_id"]} for d in drills], drill_id)


@callback(Output("drill-report", "children"), Input("drill-pick", "value"), prevent_initial_call=True)
@requires("run_drills")
def show(drill_id):
    """The response report of the chosen drill."""
    return _report_table(drill_id) if drill_id else None
