"""人口底数 (people registry) on a laptop: an area's figures, its special-group households and premises, masked."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import client_ip, covers, home_code, principal, requires
from dashboard.runtime import current
from governance.people import people_list
from governance.people import people_stats
from governance.people import visits
from governance.core.access import scope_condition
from governance.people.groups import groups, small
from governance.models import Household
from governance.events.queries import area_by_code

dash.register_page(__name__, path="/people", title="人口底数 · 网格驾驶舱", name="人口底数")
ACCESS = "view_people"


def _area(code: str | None):
    with current().engine.connect() as conn:
        area = area_by_code(conn, code or home_code())
        if area is None or not covers(area.path):
            area = area_by_code(conn, home_code())
    return area


def _link(label: str, active: bool, **query) -> dcc.Link:
    return dcc.Link(label, href="/people?" + urlencode({k: v for k, v in query.items() if v}),
                    className="filter-link active" if active else "filter-link")


def layout(area: str | None = None, view: str = "households", group: str | None = None,
           category: str | None = None, **_query):
    """Figures of the area, then a filtered, masked list with an export link (export is logged)."""
    a = _area(area)
    view = view if view in ("households", "premises") else "households"
    group = group if group in groups() else None
    labels = people_stats.metric_labels()
    with current().engine.connect() as conn:
        totals = people_stats.totals(conn, a.path)
        kinds = people_list.premises_kinds(conn, a.path)
        category = category if category in kinds else None
        rows = (people_list.special_households(conn, a.path, group) if view == "households"
                else people_list.premises(conn, a.path, category))
        now = current().now()
        visit = visits.visit_figures(conn, a.path, now)
        missed = sum(visits.missed_visits(conn, a.path, now).values())
    columns = people_list.HOUSEHOLD_COLUMNS if view == "households" else people_list.PREMISES_COLUMNS
    cards = [html.Div(className="kpi-card", id=f"people-{k.replace(':', '-')}", children=[
        html.Div(labels[k], className="kpi-label"),
        html.Div(small(totals.get(k, 0), False), className="kpi-value", **{"data-metric": k})])
        for k in [*people_stats.METRICS, "floating", "elderly", *[f"group:{c}" for c in groups()], "fire_overdue"]]
    cards += [html.Div(className="kpi-card", id=f"people-{k}", title=t, children=[
        html.Div(label, className="kpi-label"), html.Div(v, className="kpi-value", **{"data-metric": k})])
        for k, label, v, t in [
            ("visit_completion", "走访完成率", "—" if visit.completion is None else f"{visit.completion:.1f}%",
             "已到期（或已提前完成）的关爱走访中已完成的比例"),
            ("visit_on_time", "按期走访率", "—" if visit.on_time_rate is None else f"{visit.on_time_rate:.1f}%",
             "已完成的走访中走访时间在时限之前（含当时）、且在时限后离线补录时限（24 小时）内送达系统的比例；"
             "敲门行动的时限为截止日期当天 24:00"),
            ("visit_missed", "逾期未访", f"{missed:,}", "已过期限仍未走访的任务数")]]
    base = {"area": a.code, "view": view}
    if view == "households":
        filters = [_link("全部特殊人群", group is None, **base)] + [
            _link(name, group == code, **base, group=code) for code, name in groups().items()]
    else:
        filters = [_link("全部类型", category is None, **base)] + [
            _link(k, category == k, **base, category=k) for k in kinds]
    export = {"area": a.code, "view": view, "group": group, "category": category}
    tools = []
    unmask = view == "households" and principal().can("unmask_people")
    if unmask:
        tools.append(dcc.Input(id="people-reason", type="text", maxLength=200, debounce=False,
                               placeholder="查看完整信息的原因（必填，留痕）", className="people-reason"))
    if principal().can("export_people"):
        tools.append(html.A("导出 CSV（留痕）", id="people-export", className="link-button",
                            href="/api/v1/people.csv?" + urlencode({k: v for k, v in export.items() if v})))
    return html.Div(className="page people-page", children=[
        html.Header(className="page-header", children=[
            html.H1(f"人口底数 · {a.name}"),
            dcc.Link("← 返回驾驶舱", href="/", className="back-link"),
            dcc.Link("敲门行动 →", href="/campaigns", className="back-link")
            if principal().can("run_campaigns") else None,  # (#19)
        ]),
        html.Div(cards, className="kpi-strip people-kpis"),
        html.Div([_link("特殊人群户", view == "households", area=a.code, view="households"),
                  _link("经营场所", view == "premises", area=a.code, view="premises")], className="people-tabs"),
        html.Div(filters, className="people-filters", id="people-filters"),
        html.P(f"共 {len(rows)} 条（最多显示 {people_list.LIMIT} 条）。姓名与电话已脱敏。", className="hint"),
        html.Div(tools, className="people-tools"),
        html.Table(className="data-table", id="people-table", children=[
            html.Thead(html.Tr([html.Th(label) for _, label in columns] + ([html.Th("完整信息")] if unmask else []))),
            html.Tbody([html.Tr([html.Td(str(r[k])) for k, _ in columns] + ([_unmask_cell(r["id"])] if unmask else []),
                                className="people-row") for r in rows]),
        ]),
    ])


def _unmask_cell(household_id: int) -> html.Td:
    return html.Td([html.Button("显示（留痕）", id={"type": "people-unmask", "household": household_id}, n_clicks=0,
                                className="link-button unmask"),
                    html.Span(id={"type": "people-clear", "household": household_id}, className="people-clear")])


@callback(Output({"type": "people-clear", "household": MATCH}, "children"),
          Input({"type": "people-unmask", "household": MATCH}, "n_clicks"), State("people-reason", "value"),
          prevent_initial_call=True)
@requires("unmask_people")
def unmask_household(n, reason):
    """A household's full names and phones for a role that may see them, with the reason logged."""
    if not n:
        return no_update
    rt = current()
    with rt.engine.begin() as conn:
        return people_list.unmask_household(conn, int(ctx.triggered_id["household"]), principal().name, reason,
                                            rt.now(), ip=client_ip(),
                                            within=scope_condition(principal(), Household.area_path))
