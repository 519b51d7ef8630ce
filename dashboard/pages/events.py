"""The leaders' laptop view (事件台账): filter, search, sort, export and open any event."""
from __future__ import annotations

from datetime import date

import dash
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html, no_update

from dashboard import cockpit_data as data
from dashboard.components.event_detail import event_detail_view
from dashboard.event_filters import filter_from_search, filter_to_args, labelled, source_options
from dashboard.auth import covers, home_code, principal, requires
from dashboard.runtime import current
from governance.events.event_search import EventFilter, community_paths, search_events
from governance.events.queries import area_by_code, community_names, event_detail
from governance.core.taxonomy import load_taxonomy
from governance.core.workflow import STATES

dash.register_page(__name__, path="/events", title="事件台账 · 网格驾驶舱", name="事件台账")
ACCESS = "view_ledger"
PAGE_SIZE = 25
COLUMNS = [("reported", "上报时间"), ("source", "来源"), ("category", "类别"), ("title", "标题"),
           ("community", "社区"), ("status", "状态"), ("severity", "等级"), ("due", "办理时限")]
SORT_KEYS = {"reported": "reported_at", "source": "source", "category": "category", "status": "status",
             "severity": "severity", "due": "due_at"}


def _area(code: str | None):
    """The asked area (already screened by dashboard.request_guard), else the principal's home area."""
    with current().engine.connect() as conn:
        area = area_by_code(conn, code) if code else None
        return area if area is not None else area_by_code(conn, home_code())


def _options(area) -> dict:
    tax = load_taxonomy()
    majors = {c.major_code: c.major_name for c in tax.categories.values()}
    with current().engine.connect() as conn:
        comms = community_paths(conn, area.path)
        names = community_names(conn)
    return {
        "source": source_options(),
        "category": [{"label": f"【{n}】全部", "value": c} for c, n in majors.items()]
        + [{"label": c.name, "value": c.code} for c in tax.categories.values()],
        "community": [{"label": names.get(c, c), "value": c} for c in sorted(comms)],
        "status": [{"label": v, "value": k} for k, v in STATES.items()],
    }


def layout(**query):
    """Filters (from the URL), the event table, export links and the detail panel."""
    search = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    code, f = filter_from_search(search)
    area = _area(code)
    opts = _options(area)
    p = principal()
    hide = lambda perm: "" if p.can(perm) else " hidden"  # noqa: E731 - the server checks again
    return html.Div(className="page events-page", children=[
        dcc.Location(id="events-url", refresh="callback-nav"),
        dcc.Store(id="events-area", data=area.code),
        html.Header(className="page-header", children=[
            html.H1(f"事件台账 · {area.name}"),
            html.Nav([dcc.Link("← 驾驶舱", href=f"/?area={area.code}", className="back-link"),
                      dcc.Link("待查记录", href="/quarantine", className="back-link" + hide("view_quarantine"))],
                     className="page-nav"),
        ]),
        html.Div(className="filters", children=[
            dcc.DatePickerRange(id="f-dates", start_date=f.start, end_date=f.end, display_format="YYYY-MM-DD",
                                start_date_placeholder_text="开始日期", end_date_placeholder_text="结束日期",
                                clearable=True),
            dcc.Dropdown(id="f-source", options=opts["source"], value=list(f.sources), multi=True,
                         placeholder="来源"),
            dcc.Dropdown(id="f-category", options=opts["category"], value=list(f.categories), multi=True,
                         placeholder="类别"),
            dcc.Dropdown(id="f-community", options=opts["community"], value=list(f.communities), multi=True,
                         placeholder="社区"),
            dcc.Dropdown(id="f-status", options=opts["status"], value=list(f.statuses), multi=True,
                         placeholder="状态"),
            dcc.Input(id="f-text", value=f.text, type="search", placeholder="搜索标题、描述、地址、编号",
                      debounce=True, className="search-box"),
        ]),
        html.Div(className="table-bar", children=[
            html.Span(id="events-total", className="hint"),
            html.A("导出 CSV", id="export-csv", className="export-link" + hide("export")),
            html.A("导出 Excel", id="export-xlsx", className="export-link" + hide("export")),
            html.Button("批量派单（属地推荐第一人）", id="bulk-dispatch", n_clicks=0,
                        className="action-button" + hide("dispatch")),
            html.Span(id="bulk-msg", className="hint"),
        ]),
        dash_table.DataTable(
            id="events-table", columns=[{"name": n, "id": k} for k, n in COLUMNS], data=[],
            page_current=0, page_size=PAGE_SIZE, page_action="custom", sort_action="custom",
            sort_mode="single", sort_by=[{"column_id": "reported", "direction": "desc"}],
            style_as_list_view=True, cell_selectable=True, row_selectable="multi", selected_rows=[],
            style_header={"backgroundColor": "#0d1628", "color": "#8aa0c6", "fontWeight": "500"},
            style_cell={"backgroundColor": "#060b18", "color": "#dbe7ff", "border": "none",
                        "borderBottom": "1px solid #1f3354", "textAlign": "left", "padding": "6px",
                        "maxWidth": "26rem", "overflow": "hidden", "textOverflow": "ellipsis",
                        "fontFamily": "inherit"}),
        html.Div(id="events-detail", className="event-detail docked hidden", children=[
            html.Button("关闭 ×", id="close-events-detail", className="link-button close-detail", n_clicks=0),
            html.Div(id="events-detail-body"),
        ]),
    ])


def _day(value) -> date | None:
    """A date picker's value as a date (None when empty); ValueError when it is not a real date."""
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


@callback(Output("events-table", "data"), Output("events-table", "page_count"),
          Output("events-total", "children"), Output("export-csv", "href"), Output("export-xlsx", "href"),
          Output("events-url", "search"),
          Input("f-dates", "start_date"), Input("f-dates", "end_date"), Input("f-source", "value"),
          Input("f-category", "value"), Input("f-community", "value"), Input("f-status", "value"),
          Input("f-text", "value"), Input("events-table", "page_current"), Input("events-table", "sort_by"),
          State("events-area", "data"))
@requires("view_ledger")
def refresh_table(start, end, sources, categories, communities, statuses, text, page, sort_by, code):
    """Query one page of events for the filters; keep the URL and export links in step."""
    try:
        start_day, end_day = _day(start), _day(end)
    except ValueError:
        return no_update, no_update, f"日期无效：{str(start or '')[:10]} – {str(end or '')[:10]}（格式 YYYY-MM-DD）", \
            no_update, no_update, no_update
    f = EventFilter(start=start_day, end=end_day, sources=tuple(sources or ()),
                    categories=tuple(categories or ()), communities=tuple(communities or ()),
                    statuses=tuple(statuses or ()), text=(text or "")[:50])
    area = _area(code)
    sort = (sort_by or [{}])[0]
    with current().engine.connect() as conn:
        rows, total = search_events(conn, area.path, f, SORT_KEYS.get(sort.get("column_id"), "reported_at"),
                                    sort.get("direction", "desc") == "desc", page or 0, PAGE_SIZE)
    args = filter_to_args(area.code, f)
    pages = max(1, -(-total // PAGE_SIZE))
    return ([labelled(r) for r in rows], pages, f"共 {total:,} 件", f"/api/v1/events.csv?{args}", f"/api/v1/events.xlsx?{args}",
            f"?{args}")


@callback(Output("events-detail-body", "children"), Output("events-detail", "className"),
          Input("events-table", "active_cell"), Input("close-events-detail", "n_clicks"),
          State("events-table", "data"), State("events-area", "data"), prevent_initial_call=True)
@requires("view_ledger")
def open_detail(cell, _close, rows, code):
    """Clicking a row opens the event with its full history; the close button hides it."""
    if ctx.triggered_id == "close-events-detail":
        return [], "event-detail docked hidden"
    if not cell or not rows or cell["row"] >= len(rows):
        return no_update, no_update
    area = _area(code)
    with current().engine.connect() as conn:
        detail = event_detail(conn, int(rows[cell["row"]]["id"]))
    if detail is None or not (detail.get("area_path") or "").startswith(area.path) or not covers(detail["area_path"]):
        return [html.P("该事件不在当前范围内")], "event-detail docked"
    warned = data.warnings(data.stamp(), area.path).events.get(detail["id"])
    return event_detail_view(detail, warned, principal()), "event-detail docked"


@callback(Output("bulk-msg", "children"), Input("bulk-dispatch", "n_clicks"), State("events-table", "data"),
          State("events-table", "selected_rows"), prevent_initial_call=True)
@requires("dispatch")
def bulk(n, rows, selected):
    """Dispatch every selected event to its best suggestion; report what could not be dispatched."""
    from governance.events.dispatch import bulk_dispatch

    from dashboard.dispatch_callbacks import in_scope_ids

    if not n or not selected:
        return "请先勾选要派单的事件"
    ids = in_scope_ids([int(rows[i]["id"]) for i in selected if i < len(rows)])
    result = bulk_dispatch(current().engine.begin, ids, principal().name, current().now())
    failed = "；".join(f"#{eid}：{why}" for eid, why in result["failed"])
    return f"已派单 {len(result['dispatched'])} 件" + (f"，未派 {len(result['failed'])} 件（{failed}）" if failed else "")
