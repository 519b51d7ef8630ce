"""工作简报: the stored weekly and monthly reports of the principal's area, downloads, and generate now."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.core.access import scope_condition
from governance.reports.briefs import KINDS, WHICH, brief_content, generate, list_briefs, summary_text
from governance.models import CHILD_LEVEL, Brief
from governance.events.queries import area_by_code, areas_in
from governance.core.timeutil import format_local

dash.register_page(__name__, path="/briefs", title="工作简报 · 网格驾驶舱", name="工作简报")
ACCESS = "view_briefs"


def brief_rows() -> list[dict]:
    """The stored reports the principal may read, newest period first."""
    with current().engine.connect() as conn:
        return list_briefs(conn, scope_condition(principal(), Brief.area_path))


def brief_table(rows: list[dict]) -> html.Table | html.P:
    """The list of reports with their PDF and Excel links."""
    if not rows:
        return html.P("还没有简报。定时任务每周一、每月 1 日生成上一周期的街道简报，也可在上方立即生成。", className="hint")
    head = ["区域", "类型", "周期", "生成时间", "生成者", "下载"]
    return html.Table(className="data-table brief-table", children=[
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr([
            html.Td(r["name"]), html.Td(KINDS.get(r["kind"], r["kind"])), html.Td(r["period_label"]),
            html.Td(format_local(r["generated_at"], "%Y-%m-%d %H:%M")), html.Td(r["generated_by"]),
            html.Td([html.A("PDF", href=f"/api/v1/briefs/{r['id']}.pdf", className="brief-pdf"), " · ",
                     html.A("Excel", href=f"/api/v1/briefs/{r['id']}.xlsx", className="brief-xlsx")]),
        ], **{"data-brief": r["id"]}) for r in rows])])


def layout(**_query):
    """Generate form (area, kind, period) and the list of stored reports."""
    with current().engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        child = CHILD_LEVEL.get(focus.level)
        subs = areas_in(conn, focus.path, child) if child in ("subdistrict", "community") else []
    return html.Div(className="page briefs-page", children=[
        html.Header(className="page-header", children=[
            html.H1("工作简报"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("周报、月报：核心指标（与驾驶舱同一口径，含去年同期）、社区排名、高发类别、热点微网格地图、预警与升级、"
               "督办事项、网格赶考；PDF（A4）与 Excel 两种格式。", className="hint"),
        html.Div(className="filters brief-form", children=[
            dcc.Dropdown(id="brief-area", value=focus.code, clearable=False,
                         options=[{"label": focus.name, "value": focus.code}]
                         + [{"label": a.name, "value": a.code} for a in subs]),
            dcc.Dropdown(id="brief-kind", value="weekly", clearable=False,
                         options=[{"label": v, "value": k} for k, v in KINDS.items()]),
            dcc.Dropdown(id="brief-which", value="previous", clearable=False,
                         options=[{"label": v, "value": k} for k, v in WHICH.items()]),
            html.Button("立即生成", id="brief-generate", n_clicks=0, className="action-button primary"),
            dcc.Loading(html.Span(id="brief-msg", className="hint"), type="dot"),
        ]),
        html.Div(id="brief-list", children=brief_table(brief_rows())),
    ])


@callback(Output("brief-msg", "children"), Output("brief-list", "children"),
          Input("brief-generate", "n_clicks"), State("brief-area", "value"), State("brief-kind", "value"),
          State("brief-which", "value"), prevent_initial_call=True)
@requires("view_briefs")
def generate_brief(n, area, kind, which):
    """Generate a report now for an area of the principal's scope, then show it first in the list."""
    if not n:
        return no_update, no_update
    with current().engine.connect() as conn:
        target = area_by_code(conn, area or "")
    if target is None or not covers(target.path):
        return "该区域不在您的权限范围内", no_update
    try:
        brief_id = generate(current().engine, target.code, kind, current().now(), which or "previous",
                            actor=principal().name)
    except ValueError as exc:
        return str(exc), no_update
    rows = brief_rows()
    made = next((r for r in rows if r["id"] == brief_id), None)
    with current().engine.connect() as conn:
        content = brief_content(conn, brief_id)
    return (f"已生成：{made['name'] if made else target.name} {KINDS[kind]} {content.get('period', '')}。"
            f"{summary_text(content)}", brief_table(rows))
