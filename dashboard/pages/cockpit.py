"""The cockpit wall view (一屏全域感知): grid map, KPI strip, latest events, live refresh."""
from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import Input, Output, callback, dcc, html

from governance.kpis import PERIODS, compute_kpis
from governance.queries import area_by_code, latest_events, open_counts, world_info
from governance.timeutil import format_local
from layers.area_outline import outline_layer
from layers.grid_choropleth import choropleth_hideout, grid_layer, legend

from data_sources.health import source_health
from dashboard.components.event_list import event_list
from dashboard.components.feed_strip import feed_strip
from dashboard.components.kpi_strip import kpi_strip
from dashboard.geo_routes import geometry_url
from dashboard.runtime import current

dash.register_page(__name__, path="/", title="网格驾驶舱", name="驾驶舱")

MAP_LEVEL = "micro_grid"


def focus_code() -> str:
    """Code of the area the cockpit opens on (the seeded world's focus sub-district)."""
    with current().engine.connect() as conn:
        return world_info(conn).get("focus_code", "510100")


def cockpit_data(code: str, period: str) -> dict:
    """Everything one refresh shows, computed from the database for an area and period."""
    now = current().now()
    with current().engine.connect() as conn:
        area = area_by_code(conn, code)
        kpis = compute_kpis(conn, area.path, period, now)
        counts = open_counts(conn, area.path, MAP_LEVEL)
        events = latest_events(conn, area.path, 14)
    feeds = source_health(current().engine, now)
    return {"area": area, "kpis": kpis, "counts": counts, "events": events, "now": now, "feeds": feeds}


def layout(**_query):
    """Build the wall view for the focus area."""
    code = focus_code()
    data = cockpit_data(code, "year")
    area = data["area"]
    min_lon, min_lat, max_lon, max_lat = area.bounds
    refresh_ms = current().settings.refresh_seconds * 1000
    return html.Div(className="cockpit", children=[
        dcc.Store(id="cockpit-area", data=code),
        dcc.Interval(id="cockpit-refresh", interval=refresh_ms),
        html.Header(className="cockpit-header", children=[
            html.H1(["网格驾驶舱", html.Span(f" · {area.name}", className="area-name")]),
            html.Div(className="header-right", children=[
                html.Div(id="feed-strip", className="feed-strip", children=feed_strip(data["feeds"])),
                dcc.RadioItems(id="cockpit-period", className="period-select", value="year",
                               options=[{"label": v, "value": k} for k, v in PERIODS.items()],
                               inline=True),
                html.Div(id="cockpit-clock", className="clock",
                         children=f"数据更新于 {format_local(data['now'], '%H:%M:%S')}"),
            ]),
        ]),
        html.Section(id="kpi-strip", className="kpi-strip", children=kpi_strip(data["kpis"])),
        html.Main(className="cockpit-main", children=[
            html.Div(className="map-panel", children=[
                dl.MapContainer(
                    id="cockpit-map", preferCanvas=True, attributionControl=False,
                    bounds=[[min_lat, min_lon], [max_lat, max_lon]], zoomSnap=0.25,
                    className="grid-map", children=[
                        grid_layer("grid-layer", geometry_url(code, MAP_LEVEL),
                                   choropleth_hideout(data["counts"])),
                        outline_layer("community-outline", geometry_url(code, "community")),
                    ]),
                legend("在办事件数（微网格）"),
            ]),
            html.Aside(className="side-panel", children=[
                html.H2("最新事件"),
                html.Ul(id="event-list", className="event-list", children=event_list(data["events"])),
            ]),
        ]),
    ])


@callback(
    Output("kpi-strip", "children"),
    Output("grid-layer", "hideout"),
    Output("event-list", "children"),
    Output("cockpit-clock", "children"),
    Output("feed-strip", "children"),
    Input("cockpit-refresh", "n_intervals"),
    Input("cockpit-period", "value"),
    Input("cockpit-area", "data"),
    prevent_initial_call=True,
)
def refresh(_n, period, code):
    """Recompute KPIs, grid colours and the event list; geometry is never resent."""
    data = cockpit_data(code, period or "year")
    return (kpi_strip(data["kpis"]), choropleth_hideout(data["counts"]), event_list(data["events"]),
            f"数据更新于 {format_local(data['now'], '%H:%M:%S')}", feed_strip(data["feeds"]))
