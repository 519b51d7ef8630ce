"""The cockpit (一屏全域感知): drill-down grid map, KPIs, warnings, ranking, trends, live refresh."""
from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, Patch, State, callback, ctx, dcc, html, no_update

from dashboard import cockpit_data as data
from dashboard.components.event_detail import event_detail_view
from dashboard.components.event_list import event_list
from dashboard.components.feed_strip import feed_strip
from dashboard.components.kpi_strip import kpi_strip
from dashboard.components.panels import breadcrumb, ranking_panel, sort_warned_events, warnings_panel
from dashboard.components.trend_charts import category_chart, daily_chart, hourly_chart
from dashboard.geo_routes import geometry_url
from dashboard.runtime import current
from dashboard.view_state import ViewState, parse_search
from data_sources.health import source_health
from governance.area_stats import METRICS, ranking
from governance.kpis import PERIODS
from governance.models import AREA_LEVELS
from governance.queries import area_chain, event_detail, events_by_ids, world_info
from governance.timeutil import format_local
from governance.warnings import load_rules
from layers.area_outline import outline_layer
from layers.dedicated_overlay import dedicated_layer
from layers.event_markers import marker_layer, marker_minimum, markers_url
from layers.grid_choropleth import choropleth_hideout, grid_layer, legend_items

dash.register_page(__name__, path="/", title="网格驾驶舱", name="驾驶舱")
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def default_area() -> str:
    """Code of the area the cockpit opens on (the seeded world's focus)."""
    with current().engine.connect() as conn:
        return world_info(conn).get("focus_code", "510100")


def resolve_view(search: str | None) -> tuple[ViewState, object]:
    """The view a query string asks for, falling back to the focus area when it is unknown."""
    view = parse_search(search, default_area())
    area = data.area(view.area)
    if area is None:
        view = view.with_(area=default_area())
        area = data.area(view.area)
    return view, area


def map_values(view: ViewState, area, st) -> tuple[str, dict]:
    """(level shown, metric value per area code) for the map of a view."""
    level = data.child_level(area.level) or area.level
    figures = data.figures(st, area.path, level, view.period)
    return level, {code: f.value(view.metric) for code, f in figures.items()}


def markers_for(view: ViewState, area, st) -> str:
    """URL of the warning points of a view ('' when the overlay is off)."""
    return markers_url(area.code, st.version, marker_minimum(area.level)) if view.markers else ""


def hideout_for(view: ViewState, values: dict) -> dict:
    """The choropleth hideout of a view's metric."""
    return choropleth_hideout(view.metric, values, load_rules().colors)


def panels(view: ViewState, area, st) -> dict:
    """Contents of every refreshable panel for a view at a data stamp."""
    level = data.child_level(area.level) or area.level
    figures = data.figures(st, area.path, level, view.period)
    warned = data.warnings(st, area.path)
    ids = [eid for eid, (lv, _) in warned.events.items() if lv in ("red", "orange")]
    with current().engine.connect() as conn:
        ev_rows = sort_warned_events(warned.events, events_by_ids(conn, ids[:4000]))
    grid_rows = sorted(({"name": f.name, "level": f.warning, "reasons": ["下辖网格存在预警"],
                         "href": view.with_(area=f.code).to_search()} for f in figures.values()
                        if f.warning in ("red",)), key=lambda r: r["name"])
    trends = data.trend_series(st, area.path, view.period)
    return {
        "kpis": kpi_strip(data.kpis(st, area.path, view.period)),
        "warnings": warnings_panel(ev_rows, grid_rows),
        "ranking": ranking_panel(ranking(figures), view, AREA_LEVELS.get(level, "")),
        "latest": event_list(data.latest(st, area.path)),
        "daily": daily_chart(trends["daily"]), "categories": category_chart(trends["categories"]),
        "hourly": hourly_chart(trends["hourly"]),
        "feeds": feed_strip(source_health(current().engine, current().now())),
        "clock": f"数据更新于 {format_local(current().now(), '%H:%M:%S')}",
    }


def layout(**query):
    """The cockpit for the view in the URL (area, metric, period); everything from the database."""
    search = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    view, area = resolve_view(search)
    st = data.stamp()
    level, values = map_values(view, area, st)
    hideout = hideout_for(view, values)
    p = panels(view, area, st)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    with current().engine.connect() as conn:
        chain = area_chain(conn, area.path)
    colors = load_rules().colors
    return html.Div(className="cockpit", children=[
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Store(id="view-stamp", data={"search": view.to_search(), "stamp": [st.version, st.minute]}),
        dcc.Store(id="selected-event"),
        dcc.Interval(id="cockpit-refresh", interval=current().settings.refresh_seconds * 1000),
        html.Header(className="cockpit-header", children=[
            html.H1(["网格驾驶舱", html.Span(f" · {area.name}", id="area-title", className="area-name")]),
            html.Div(className="header-right", children=[
                html.Div(id="feed-strip", className="feed-strip", children=p["feeds"]),
                dcc.RadioItems(id="cockpit-period", className="period-select", value=view.period, inline=True,
                               options=[{"label": v, "value": k} for k, v in PERIODS.items()]),
                html.Div(id="cockpit-clock", className="clock", children=p["clock"]),
            ]),
        ]),
        html.Section(id="kpi-strip", className="kpi-strip", children=p["kpis"]),
        html.Main(className="cockpit-main", children=[
            html.Div(className="map-panel", children=[
                html.Div(className="map-toolbar", children=[
                    html.Nav(id="breadcrumb", className="breadcrumb", children=breadcrumb(chain, view)),
                    dcc.RadioItems(id="map-metric", className="metric-select", value=view.metric, inline=True,
                                   options=[{"label": v, "value": k} for k, v in METRICS.items()]),
                    dcc.Checklist(id="map-overlays", className="overlay-toggle", inline=True,
                                  value=[k for k, on in (("dedicated", view.dedicated),
                                                         ("markers", view.markers)) if on],
                                  options=[{"label": "专属网格", "value": "dedicated"},
                                           {"label": "预警点位", "value": "markers"}]),
                ]),
                dl.MapContainer(
                    id="cockpit-map", preferCanvas=True, attributionControl=False, zoomSnap=0.25,
                    bounds=[[min_lat, min_lon], [max_lat, max_lon]], className="grid-map", children=[
                        grid_layer("grid-layer", geometry_url(area.code, level), hideout),
                        outline_layer("area-outline", geometry_url(area.code, area.level)),
                        dedicated_layer("dedicated-layer", geometry_url(area.code, "dedicated_grid")
                                        if view.dedicated else ""),
                        marker_layer("event-markers", markers_for(view, area, st), colors),
                    ]),
                html.Div(id="map-legend", className="map-legend", children=legend_items(view.metric, hideout)),
            ]),
            html.Aside(className="side-panel", children=[
                html.H2("预警（红橙）"),
                html.Ul(id="warnings-panel", className="warn-list", children=p["warnings"]),
                html.H2("办结率排名（由低到高）"),
                html.Ul(id="ranking-panel", className="rank-list", children=p["ranking"]),
                html.H2("最新事件"),
                html.Ul(id="event-list", className="event-list", children=p["latest"]),
            ]),
            html.Div(id="event-detail", className="event-detail hidden", children=[
                html.Button("关闭 ×", id="close-detail", className="link-button close-detail", n_clicks=0),
                html.Div(id="event-detail-body"),
            ]),
        ]),
        html.Section(className="trend-row", children=[
            dcc.Graph(id="trend-daily", figure=p["daily"], config=GRAPH_CONFIG, className="trend"),
            dcc.Graph(id="trend-categories", figure=p["categories"], config=GRAPH_CONFIG, className="trend"),
            dcc.Graph(id="trend-hourly", figure=p["hourly"], config=GRAPH_CONFIG, className="trend"),
        ]),
    ])


@callback(Output("url", "search", allow_duplicate=True),
          Input("map-metric", "value"), Input("cockpit-period", "value"), Input("map-overlays", "value"),
          State("url", "search"), prevent_initial_call=True)
def controls_to_url(metric, period, overlays, search):
    """Metric, period and overlay choices go into the URL (so a view can be bookmarked)."""
    view, _ = resolve_view(search)
    overlays = overlays or []
    return view.with_(metric=metric, period=period, dedicated="dedicated" in overlays,
                      markers="markers" in overlays).to_search()


@callback(Output("url", "search", allow_duplicate=True),
          Input("grid-layer", "clickData"), State("url", "search"), prevent_initial_call=True)
def drill_down(feature, search):
    """Clicking an area on the map drills into it."""
    code = ((feature or {}).get("properties") or {}).get("code")
    view, area = resolve_view(search)
    if not code or code == area.code:
        return no_update
    return view.with_(area=code).to_search()


@callback(
    Output("grid-layer", "url"), Output("grid-layer", "hideout"), Output("area-outline", "url"),
    Output("dedicated-layer", "url"), Output("event-markers", "url"), Output("cockpit-map", "viewport"),
    Output("breadcrumb", "children"), Output("map-legend", "children"), Output("area-title", "children"),
    Output("kpi-strip", "children"), Output("warnings-panel", "children"), Output("ranking-panel", "children"),
    Output("event-list", "children"), Output("trend-daily", "figure"), Output("trend-categories", "figure"),
    Output("trend-hourly", "figure"), Output("feed-strip", "children"), Output("cockpit-clock", "children"),
    Output("view-stamp", "data"),
    Input("url", "search"), Input("cockpit-refresh", "n_intervals"), State("view-stamp", "data"),
    prevent_initial_call=True)
def render(search, _n, last):
    """Redraw for a new view; on a timer tick send only what changed (often just the clock)."""
    view, area = resolve_view(search)
    st = data.stamp()
    same_view = last and last.get("search") == view.to_search()
    same_data = last and last.get("stamp") == [st.version, st.minute]
    clock = f"数据更新于 {format_local(current().now(), '%H:%M:%S')}"
    n_out = 19
    if ctx.triggered_id == "cockpit-refresh" and same_view and same_data:
        return (*[no_update] * (n_out - 2), clock, no_update)
    level, values = map_values(view, area, st)
    hideout = hideout_for(view, values)
    p = panels(view, area, st)
    stamp_data = {"search": view.to_search(), "stamp": [st.version, st.minute]}
    if same_view:  # data changed, same view: restyle in place, keep geometry, map position, popups
        patch = Patch()
        patch["values"] = hideout["values"]
        if hideout.get("classes") is not None:
            patch["classes"], patch["colors"] = hideout["classes"], hideout["colors"]
        return (no_update, patch, no_update, no_update, markers_for(view, area, st), no_update,
                no_update, legend_items(view.metric, hideout), no_update, p["kpis"], p["warnings"],
                p["ranking"], p["latest"], p["daily"], p["categories"], p["hourly"], p["feeds"], clock,
                stamp_data)
    with current().engine.connect() as conn:
        chain = area_chain(conn, area.path)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    viewport = {"bounds": [[min_lat, min_lon], [max_lat, max_lon]], "transition": "flyToBounds",
                "options": {"duration": 0.4}}
    return (geometry_url(area.code, level), hideout, geometry_url(area.code, area.level),
            geometry_url(area.code, "dedicated_grid") if view.dedicated else "",
            markers_for(view, area, st), viewport, breadcrumb(chain, view),
            legend_items(view.metric, hideout), f" · {area.name}", p["kpis"], p["warnings"], p["ranking"],
            p["latest"], p["daily"], p["categories"], p["hourly"], p["feeds"], clock, stamp_data)


@callback(Output("event-detail-body", "children"), Output("event-detail", "className"),
          Input("event-markers", "clickData"), Input({"type": "open-event", "id": ALL}, "n_clicks"),
          Input("close-detail", "n_clicks"), State("url", "search"), prevent_initial_call=True)
def show_event(marker, _clicks, _close, search):
    """Open an event's detail from a marker or a warning row; close it again."""
    trig = ctx.triggered_id
    if trig == "close-detail":
        return [], "event-detail hidden"
    if isinstance(trig, dict):
        if not any(_clicks or []):
            return no_update, no_update
        event_id = trig["id"]
    else:
        event_id = ((marker or {}).get("properties") or {}).get("id")
    if event_id is None:
        return no_update, no_update
    _, area = resolve_view(search)
    with current().engine.connect() as conn:
        detail = event_detail(conn, int(event_id))
    if detail is None or not (detail.get("area_path") or "").startswith(area.path):
        return [html.P("该事件不在当前范围内")], "event-detail"
    warned = data.warnings(data.stamp(), area.path).events.get(detail["id"])
    return event_detail_view(detail, warned), "event-detail"
