"""敲门行动 for leaders: start a one-off visit to every household of a special group in an area (in scope),
then watch every campaign's progress per area (households visited / total, on time), refreshed live.
Aggregates only: no household or person is named here (the worker's phone shows the household)."""
from __future__ import annotations

from datetime import date, timedelta

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from sqlalchemy.exc import IntegrityError

from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.people import campaigns
from governance.models import CHILD_LEVEL
from governance.people.groups import groups
from governance.events.queries import area_by_code, areas_in
from governance.core.timeutil import format_local, to_local

dash.register_page(__name__, path="/campaigns", title="敲门行动 · 网格驾驶舱", name="敲门行动")
ACCESS = "run_campaigns"
REFRESH_MS = 15_000
_SECOND = timedelta(seconds=1)  # 24:00 of the due date is shown as that date


def _options() -> list[dict]:
    with current().engine.connect() as conn:
        rows = campaigns.campaigns_in(conn, principal().scope)
    return [{"label": f"{c['name']} · {c['area_name']}（{format_local(c['created_at'], '%m-%d %H:%M')}）",
             "value": c["id"]} for c in rows]


def layout(**_query):
    """The start form (group, area, optional name and due date) and the campaigns' progress."""
    rt = current()
    with rt.engine.connect() as conn:
        focus = area_by_code(conn, home_code())
        subs = areas_in(conn, focus.path, CHILD_LEVEL[focus.level]) if focus.level in CHILD_LEVEL else []
    options = _options()
    today = to_local(rt.now()).date()
    return html.Div(className="page forms-page campaigns-page", children=[
        html.Header(className="page-header", children=[
            html.H1("敲门行动"), dcc.Link("← 人口底数", href="/people", className="back-link"),
            dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P("向辖区内某类特殊人群的每一户派一次上门走访，任务直达所在微网格的网格员手机；同一行动再次发起不会重复派单。",
               className="hint"),
        html.Section(className="forms-compose", children=[
            html.H2("发起行动"),
            html.Div(className="filters", children=[
                dcc.Dropdown(id="camp-group", clearable=False, className="form-area camp-group", placeholder="特殊人群",
                             value=next(iter(groups())),
                             options=[{"label": n, "value": c} for c, n in groups().items()]),
                dcc.Dropdown(id="camp-area", value=focus.code, clearable=False, className="form-area camp-area",
                             options=[{"label": focus.name, "value": focus.code}]
                             + [{"label": a.name, "value": a.code} for a in subs]),
                dcc.Input(id="camp-name", type="text", maxLength=60, className="form-title",
                          placeholder="行动名称（可不填，默认“敲门行动·人群”）"),
                html.Label(["截止日期 ", dcc.Input(id="camp-due", type="date", min=today.isoformat(),
                                                    className="camp-due")], title=f"可不填：默认 {campaigns.default_days()} 天后当天 24:00",
                           className="camp-due-label"),
            ]),
            html.Button("发起敲门行动", id="camp-start", n_clicks=0, className="action-button primary"),
            html.Span(id="camp-msg", className="hint"),
        ]),
        html.Section(className="forms-progress", children=[
            html.H2("行动进度"),
            html.Div(className="filters", children=[
                dcc.Dropdown(id="camp-pick", options=options, value=options[0]["value"] if options else None,
                             clearable=False, placeholder="选择行动", className="form-pick"),
                html.Button("刷新", id="camp-refresh", n_clicks=0, className="action-button"),
            ]),
            dcc.Interval(id="camp-tick", interval=REFRESH_MS),
            html.Div(id="camp-progress"),
        ]),
    ])


@callback(Output("camp-msg", "children"), Output("camp-pick", "options"), Output("camp-pick", "value"),
          Input("camp-start", "n_clicks"), State("camp-name", "value"), State("camp-group", "value"),
          State("camp-area", "value"), State("camp-due", "value"), prevent_initial_call=True)
@requires("run_campaigns")
def start_campaign(n, name, group, area, due):
    """Start (or start again) a campaign in an area of the principal's scope; show it in the progress view."""
    if not n:
        return no_update, no_update, no_update
    rt = current()
    try:
        due_on = date.fromisoformat(str(due)[:10]) if due else None
    except ValueError:
        return "截止日期格式不正确", no_update, no_update
    try:
        with rt.engine.begin() as conn:
            target = area_by_code(conn, area or "")
            if target is None or not covers(target.path):
                return "该区域不在您的权限范围内", no_update, no_update
            done = campaigns.start(conn, name, group or "", target.path, principal().name, rt.now(), due_on)
    except campaigns.CampaignError as exc:
        return str(exc), no_update, no_update
    except IntegrityError:  # the same campaign started at the same moment elsewhere: it exists once
        return "该行动正在由他人发起，请稍后刷新", no_update, no_update
    msg = (f"已在 {target.name} 发起：{done.made} 户" if not done.existed
           else f"该行动已存在：新增 {done.made} 户（共 {done.total} 户），未重复派单")
    return msg, _options(), done.campaign_id


@callback(Output("camp-progress", "children"), Input("camp-pick", "value"), Input("camp-refresh", "n_clicks"),
          Input("camp-tick", "n_intervals"))
@requires("run_campaigns")
def show_campaigns(campaign_id, _n, _tick):
    """The chosen campaign's progress per area, and every campaign of the scope with its totals."""
    with current().engine.connect() as conn:
        listed = campaigns.campaigns_in(conn, principal().scope)
        rows = campaigns.progress(conn, campaign_id) if isinstance(campaign_id, int) and not isinstance(
            campaign_id, bool) else []
    if not listed:
        return html.P("还没有发起过敲门行动", className="hint")
    head = ("区域", "已走访", "应走访", "完成率", "按期走访", "按期走访率")
    return [
        html.Table(className="data-table form-progress-table camp-progress-table", children=[
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([html.Td(r["name"]), html.Td(r["done"]), html.Td(r["total"]),
                                 html.Td(campaigns.rate(r["done"], r["total"])), html.Td(r["on_time"]),
                                 html.Td(campaigns.rate(r["on_time"], r["done"]))],
                                **{"data-area": r["code"] or "total"}) for r in rows])]) if rows else None,
        html.H3(f"全部行动（{len(listed)}）"),
        html.Table(className="data-table camp-list", children=[
            html.Thead(html.Tr([html.Th(h) for h in ("行动", "特殊人群", "区域", "发起", "截止", "已走访 / 应走访",
                                                     "按期走访率")])),
            html.Tbody([html.Tr([
                html.Td(c["name"]), html.Td(c["group"]), html.Td(c["area_name"]),
                html.Td(f"{format_local(c['created_at'], '%m-%d %H:%M')} {c['created_by']}"),
                html.Td(format_local(c["due_at"] - _SECOND, "%Y-%m-%d")),
                html.Td(f"{c['done']} / {c['total']}"), html.Td(campaigns.rate(c["on_time"], c["done"]))],
                **{"data-campaign": str(c["id"])}) for c in listed])]),
    ]

