"""督办与搁置: supervised standing items (owner, review date) and shelved warnings (reason, expiry)."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import home_code, principal, requires
from dashboard.runtime import current
from governance.core.access import scope_condition
from governance.alerts.alarm_lists import shelvable, shelved_list, supervision_list
from governance.alerts.alarm_mgmt import ShelveError, load_alarm_rules, shelve
from governance.models import RaisedWarning
from governance.events.queries import area_by_code
from governance.core.timeutil import format_local
from governance.alerts.warnings import LABELS

dash.register_page(__name__, path="/supervision", title="督办与搁置 · 网格驾驶舱", name="督办与搁置")
ACCESS = "view_alarm_quality"
HOURS = (2, 8, 24, 72)


def _badge(level: str) -> html.Span:
    return html.Span(LABELS[level][:2], className=f"warn-badge lv-{level}")


def _when(value) -> str:
    return format_local(value, "%m-%d %H:%M") if value else "—"


def _tables(scope_path: str) -> list:
    """The supervised list, the shelved list and the shelvable warnings of a scope."""
    now = current().now()
    with current().engine.connect() as conn:
        supervised = supervision_list(conn, scope_path, now)
        shelved = shelved_list(conn, scope_path, now)
        candidates = shelvable(conn, scope_path, now)
    rules = load_alarm_rules()
    may_shelve = principal().role in rules.shelve_roles
    sup_rows = [html.Tr(className="review-due" if r["review_due"] else "", children=[
        html.Td(_badge(r["level"])), html.Td(f"#{r['event']} {r['title']}"[:40]),
        html.Td(r["community"]), html.Td(r["owner"]), html.Td(f"{r['overdue_days']} 天" if r["overdue_days"] is not None else "—"),
        html.Td(_when(r["since"])), html.Td(_when(r["review_at"]) + ("（已到期）" if r["review_due"] else ""))])
        for r in supervised]
    shelf_rows = [html.Tr([html.Td(_badge(r["level"])), html.Td(f"{'事件 #' if r['kind'] == 'event' else '网格 '}{r['subject']}"),
                           html.Td(r["reason"]), html.Td(r["by"]), html.Td(_when(r["at"])), html.Td(_when(r["until"]))])
                  for r in shelved]
    cand_rows = [html.Li(className="shelve-row", children=[
        _badge(r["level"]), html.Span(f" #{r['event']} {r['title']}"[:40] + f"｜{r['reason']}", className="shelve-what"),
        html.Button("搁置", id={"type": "shelve-warning", "warning": r["warning"]}, n_clicks=0,
                    className="action-button")]) for r in candidates] if may_shelve else []
    head = lambda *cols: html.Thead(html.Tr([html.Th(c) for c in cols]))  # noqa: E731
    return [
        html.Div(className="alarm-counts", children=[
            html.Span(f"督办 {len(supervised)}", className="count-supervised"),
            html.Span(f"搁置中 {len(shelved)}", className="count-shelved")]),
        html.H2("督办（超期 {:g} 天以上，监督员全程盯办）".format(rules.supervise_overdue_days)),
        html.P("这些事件已离开红色预警清单，由社区党风政风廉情监督员跟踪至办结；复核日到期的排在最前。", className="hint"),
        html.Table(className="data-table supervision-table", children=[
            head("等级", "事件", "社区", "督办人", "已超期", "转入督办", "复核日"), html.Tbody(sup_rows)]),
        html.H2("搁置中的预警"),
        html.Table(className="data-table shelved-table", children=[
            head("等级", "预警", "原因", "搁置人", "搁置时间", "到期"), html.Tbody(shelf_rows)]),
        *([html.H2("搁置一条预警"),
           html.P(f"须填写原因（至少 {rules.reason_min_chars} 个字）并选择时长（最长 {rules.shelve_max_hours:g} 小时）；"
                  "到期后自动回到预警清单。每次搁置都记入留痕。", className="hint"),
           html.Div(className="filters", children=[
               dcc.Input(id="shelve-reason", type="text", placeholder="搁置原因，如：已电话联系，等待燃气公司上门",
                         className="search-box", maxLength=200),
               dcc.Dropdown(id="shelve-hours", value=8, clearable=False,
                            options=[{"label": f"{h} 小时", "value": h} for h in HOURS
                                     if h <= rules.shelve_max_hours])]),
           html.Ul(cand_rows, className="shelve-list")] if may_shelve else []),
    ]


def _scope_path() -> str:
    with current().engine.connect() as conn:
        return area_by_code(conn, home_code()).path


def layout(**_query):
    """Counts, the supervised list, the shelved list and (for roles that may) shelving."""
    return html.Div(className="page supervision-page", children=[
        html.Header(className="page-header", children=[
            html.H1("督办与搁置"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.Div(id="shelve-msg", className="hint", role="status"),
        html.Div(id="supervision-body", children=_tables(_scope_path())),
    ])


@callback(Output("shelve-msg", "children"), Output("supervision-body", "children"),
          Input({"type": "shelve-warning", "warning": ALL}, "n_clicks"),
          State("shelve-reason", "value"), State("shelve-hours", "value"), prevent_initial_call=True)
@requires("view_alarm_quality")
def shelve_clicked(clicks, reason, hours):
    """Shelve the clicked warning with the typed reason and chosen duration (audited)."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []):
        return no_update, no_update
    p = principal()
    try:
        with current().engine.begin() as conn:
            until = shelve(conn, trig["warning"], p.role, p.name, reason or "", hours or 0, current().now(),
                           load_alarm_rules(), within=scope_condition(p, RaisedWarning.area_path))
    except ShelveError as exc:
        return str(exc), no_update
    return f"已搁置，{_when(until)} 到期后自动回到预警清单", _tables(_scope_path())
