"""The cockpit (一屏全域感知): drill-down grid map, KPIs, warnings, ranking, trends, live refresh."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from dashboard import cockpit_data as data
from dashboard import cockpit_flow as flow
from dashboard.auth import covers, principal, requires
from dashboard.cockpit_first import first_hash
from dashboard.cockpit_view import (ALWAYS_SENT, OUTPUTS, display_bounds, hideout_for, in_scope, map_level, map_values,
                                    memo_outputs, resolve_view, restyle, stamp_update, trend_figures,
                                    view_outputs, warm_drilldowns)
from dashboard.components.event_detail import event_detail_view
from dashboard.components.nav import page_links
from dashboard.components.panels import breadcrumb
from dashboard.fine_grids import fine_scale, fine_tiles, fine_values, warm_fine_levels
from dashboard.geo_routes import inline_geometry, level_index
from dashboard.live_routes import pushed_version
from dashboard.runtime import current
from governance.reports.area_stats import METRICS
from governance.figures.kpis import PERIODS
from governance.models import AREA_LEVELS
from governance.events.queries import area_chain, event_detail
from governance.core.timeutil import format_local
from governance.alerts.warnings import load_rules
from layers.area_outline import outline_layer
from layers.dedicated_overlay import dedicated_layer
from layers.event_markers import marker_layer
from layers.grid_choropleth import grid_layer, legend_items
from layers.grid_tiles import tile_hideouts, tile_layers

dash.register_page(__name__, path="/", title="网格驾驶舱", name="驾驶舱")
ACCESS = "view_cockpit"
# What the layout leaves out, drawn by the first render callback once the choropleth is up (see layout): the
# side panel's lists, and the area's outline (one lazily loaded map layer fewer for React's first pass).
DEFERRED = {"warnings-panel.children": [], "ranking-panel.children": [], "event-list.children": [],
            "area-outline.url": None}
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def layout(**query):
    """The cockpit for the view in the URL (area, metric, period), as the principal may see it."""
    query.pop("token", None)  # the embed token is a credential, not part of the view
    p = principal()
    mode = p.kind if p.kind in ("kiosk", "embed") else "full"
    hidden = lambda panel: "" if p.shows(panel) else " hidden"  # noqa: E731 - the server blanks them too
    view, area = resolve_view("?" + urlencode(query) if query else "")
    st = data.scoped(data.stamp(), area.path)
    data.served_stale()
    out = view_outputs(view, area, st)  # fresh (feed health and visits move no data version)
    warm_drilldowns(view, area, st)
    hashes = flow.fingerprints(out, ALWAYS_SENT)
    stale = data.served_stale()
    # The side panel's lists and the outline come with the first render callback, after the map and KPIs
    # (React draws every row as a component): the stamp marks them "deferred" and leaves them out of its
    # hashes, so that call sends them (see _render_view) and nothing the layout already drew.
    out = {**out, **DEFERRED}
    hashes = {k: v for k, v in hashes.items() if k not in DEFERRED}
    min_lon, min_lat, max_lon, max_lat = display_bounds(area)
    with current().engine.connect() as conn:
        chain = area_chain(conn, area.path)
    colors = load_rules().colors
    tiles = current().settings.tile_url
    # The first view's geometry comes with the layout (a small area's is a few KB): the polygons are drawn in
    # React's first pass, not a fetch and a second pass later. render() clears it as the view moves elsewhere.
    geometry = inline_geometry(area.code, map_level(view, area)) if p.shows("map") else None
    return html.Div(className=f"cockpit mode-{mode}", children=[
        # In-app navigation writes the URL fragment (#area=…): bookmarkable, and it does not make
        # the page router rebuild the page, so the map and panels update in place. Laid out for the page's
        # own layout request, the location starts at the browser's fragment, so mounting it is no change that
        # calls render: the first render callback waits for first-drawn.
        dcc.Location(id="url", **({"hash": fragment} if (fragment := first_hash()) is not None else {})),
        # Written once the choropleth is drawn (assets/cockpit_first.js): the first render callback then adds
        # what the layout left out (DEFERRED), and Dash's work for that call does not hold the polygons back.
        dcc.Store(id="first-drawn"),
        dcc.Store(id="view-stamp", data={"search": view.to_search(), "area": area.code,
                                         "stamp": [st.version, st.minute], "stale": stale,
                                         "deferred": True, "hashes": hashes}),
        # Pushed changes: assets/gridcockpit.js (liveChanges) reads /api/v1/changes and writes the data
        # version here; while the stream is open the refresh interval below slows to a minute (the clock-bound
        # figures), and it is back at COCKPIT_REFRESH_SECONDS when the stream is down.
        dcc.Store(id="live-url", data="/api/v1/changes"), dcc.Store(id="live-version"), dcc.Store(id="live-state"),
        dcc.Store(id="tile-state"),  # which fine tiles are drawn (render_tiles)
        # The event a row of 预警 or 最新事件 opens ({id, at}), written by one click listener for every row
        # (assets/gridcockpit.js): no pattern-matching callback that Dash calls again whenever the rows change.
        dcc.Store(id="open-event"),
        # Charts come in a third step: the first render callback (after the polygons, see DEFERRED) moves the
        # view stamp, which asks for them; plotly.js (1.4 MB) must not delay the map or the lists.
        dcc.Store(id="trend-stamp"),
        dcc.Interval(id="cockpit-refresh", interval=current().settings.refresh_seconds * 1000),
        # A wall device may rotate between views (its playlist); the browser only changes the fragment.
        dcc.Store(id="kiosk-playlist", data=list(p.playlist)), dcc.Store(id="kiosk-state"),
        dcc.Interval(id="kiosk-tick", interval=5000, disabled=len(p.playlist) < 2),
        html.Header(className="cockpit-header", children=[
            html.H1(["网格驾驶舱", html.Span(out["area-title.children"], id="area-title", className="area-name")]),
            html.Div(className="header-right", children=[
                html.Nav(className="page-links", children=page_links(p) if mode == "full" else []),
                html.Div(id="feed-strip", className="feed-strip", children=out["feed-strip.children"]),
                dcc.RadioItems(id="cockpit-period", className="period-select", value=view.period, inline=True,
                               options=[{"label": v, "value": k} for k, v in PERIODS.items()]),
                html.Div(id="cockpit-clock", className="clock", children=out["cockpit-clock.children"]),
            ]),
        ]),
        html.Section(id="kpi-strip", className="kpi-strip" + hidden("kpis"), children=out["kpi-strip.children"]),
        html.Main(className="cockpit-main", children=[
            html.Div(className="map-panel" + hidden("map"), children=[
                html.Div(className="map-toolbar", children=[
                    html.Nav(id="breadcrumb", className="breadcrumb", children=breadcrumb(chain, view, in_scope)),
                    dcc.RadioItems(id="map-metric", className="metric-select", value=view.metric, inline=True,
                                   options=[{"label": v, "value": k} for k, v in METRICS.items()]),
                    dcc.Checklist(id="map-overlays", className="overlay-toggle", inline=True,
                                  value=[k for k, on in (("dedicated", view.dedicated),
                                                         ("markers", view.markers), ("micro", view.micro)) if on],
                                  options=[{"label": "专属网格", "value": "dedicated"},
                                           {"label": "预警点位", "value": "markers"},
                                           {"label": "全部微网格", "value": "micro"}]),
                ]),
                dl.MapContainer(
                    id="cockpit-map", preferCanvas=True, attributionControl=False, zoomSnap=0.25,
                    bounds=[[min_lat, min_lon], [max_lat, max_lon]], className="grid-map",
                    # The map's center, zoom and bounds, which the fine tiles follow, are written after each
                    # move by assets/cockpit_first.js (gridCockpitTrackViewport) from the first drawn choropleth
                    # on: dash-leaflet's own tracking reports the first move as the map mounts, and Dash's work
                    # for that report ran between React's first pass and the polygons.
                    trackViewport=False, children=[
                        *([dl.TileLayer(url=tiles, maxZoom=19, opacity=0.6)] if tiles else []),
                        grid_layer("grid-layer", out["grid-layer.url"], out["grid-layer.hideout"], geometry),
                        # Finer grids by map tile once zoomed in; clicks go through to the choropleth.
                        dl.Pane(name="fine-grids", style={"zIndex": 420, "pointerEvents": "none"}, children=[
                            dl.LayerGroup(id="grid-tiles", children=[])]),
                        # Outlines sit in a pane that lets clicks through to the choropleth below.
                        dl.Pane(name="outlines", style={"zIndex": 450, "pointerEvents": "none"}, children=[
                            outline_layer("area-outline", out["area-outline.url"]),
                            dedicated_layer("dedicated-layer", out["dedicated-layer.url"]),
                        ]),
                        marker_layer("event-markers", out["event-markers.url"], colors),
                    ]),
                html.Div(id="map-legend", className="map-legend", children=out["map-legend.children"]),
            ]),
            html.Aside(className="side-panel" + hidden("warnings"), children=[
                html.H2("预警（红橙）"),
                html.Ul(id="warnings-panel", className="warn-list", children=out["warnings-panel.children"]),
                html.Div(id="level-share", className="level-share", children=out["level-share.children"]),
                html.H2("办结率排名（由低到高）"),
                html.Ul(id="ranking-panel", className="rank-list", children=out["ranking-panel.children"]),
                html.H2("最新事件"),
                html.Ul(id="event-list", className="event-list", children=out["event-list.children"]),
            ]),
            html.Div(id="event-detail", className="event-detail hidden", children=[
                html.Button("关闭 ×", id="close-detail", className="link-button close-detail", n_clicks=0),
                html.Div(id="event-detail-body"),
            ]),
        ]),
        html.Section(id="trend-row", className="trend-row" + hidden("trends"),
                     children=[html.Div(className="trend") for _ in range(3)]),
    ])


@callback(
    *[Output(*o.split(".")) for o in OUTPUTS], Output("view-stamp", "data"), Output("url", "hash"),
    Output("map-metric", "value"), Output("cockpit-period", "value"), Output("map-overlays", "value"),
    Output("grid-layer", "data"), Input("url", "hash"), Input("grid-layer", "n_clicks"), Input("map-metric", "value"),
    Input("cockpit-period", "value"), Input("map-overlays", "value"), Input("cockpit-refresh", "n_intervals"),
    Input("live-version", "data"), Input("first-drawn", "data"), State("grid-layer", "clickData"),
    State("view-stamp", "data"), prevent_initial_call=True)
@requires("view_cockpit")
def render(fragment, clicks, metric, period, overlays, _n, live, _first, feature, last):
    """One callback for every change: drill, controls, back/forward, the refresh timer and pushed changes.

    The view follows dashboard.cockpit_flow; only outputs whose content changed since the last render
    are sent (an idle refresh carries the clock alone), and geometry, map position and open popups stay
    when the view is the same.
    """
    last = last or {}
    # The first call comes from first-drawn, or (a page the router built) from the location mounting.
    trigger = "url" if ctx.triggered_id == "first-drawn" else ctx.triggered_id
    clicked = ((feature or {}).get("properties") or {}).get("code") if clicks and clicks != last.get("clicks") else None
    view = flow.next_view(trigger, fragment, last, clicked, metric, period, overlays)
    area = data.area(view.area) if view.area else None
    if area is None:
        view, area = resolve_view(view.with_(area=None).to_search())
    same_view = last.get("search") == view.to_search()
    with data.answering_stale(flow.may_answer_stale(trigger, same_view)):
        pushed = pushed_version(live) if trigger == "live-version" else None
        st = data.stamp(fresh=trigger == "live-version", pushed=pushed)
        st = data.scoped(data.not_behind(st, last.get("stamp")), area.path)
        if pushed:  # the next pushed version prepares this view's figures before it is published
            data.note_live_view(area.path, map_level(view, area), view.period)
        return _render_view(view, area, st, fragment, last, clicks, metric, period, overlays, same_view)


def _render_view(view, area, st, fragment, last, clicks, metric, period, overlays, same_view) -> tuple:
    """render()'s outputs for the view it chose at data stamp `st` (see render)."""
    data.served_stale()  # start this call with a clean flag
    clock = f"数据更新于 {format_local(current().now(), '%H:%M:%S')}"
    controls = tuple(no_update if v is None else v for v in flow.control_outputs(view, metric, period, overlays))
    if last.get("deferred") and flow.is_current({**last, "deferred": False}, view.to_search(), [st.version, st.minute]):
        return (*_deferred_lists(view, area, st, last, clicks, clock), no_update, *controls, no_update)
    if flow.is_current(last, view.to_search(), [st.version, st.minute]):
        stamp_data = no_update if clicks == last.get("clicks") else {**last, "clicks": clicks}
        return (*[no_update] * (len(OUTPUTS) - 1), clock, stamp_data, no_update, *controls, no_update)
    out, hashes = memo_outputs(view, area, st)
    out = {**out, "cockpit-clock.children": clock}
    if not same_view:
        warm_drilldowns(view, area, st)
        with current().engine.connect() as conn:
            out["breadcrumb.children"] = breadcrumb(area_chain(conn, area.path), view, in_scope)
        if last.get("area") != area.code:
            min_lon, min_lat, max_lon, max_lat = display_bounds(area)
            # A jump, not a flight: an animated move redraws every area and label each frame, and the new
            # area's grids wait for it (drill-down ~150 ms slower in the A/B probe).
            out["cockpit-map.viewport"] = {"bounds": [[min_lat, min_lon], [max_lat, max_lon]],
                                           "transition": "fitBounds", "options": {"animate": False}}
    if not same_view:
        hashes = {**hashes, "breadcrumb.children": flow.fingerprint(out["breadcrumb.children"])}
    old = last.get("hashes", {})
    result = flow.changed_outputs(OUTPUTS, out, hashes, old, same_view, restyle, no_update)
    if last.get("restyle") and same_view:  # colours sent while the geometry loaded: send them once more
        result[OUTPUTS.index("grid-layer.hideout")] = out["grid-layer.hideout"]
    # The stamp is the data version shown; "stale" marks a view answered partly from the previous one,
    # so the next tick computes it again (and the trend row still draws meanwhile).
    stamp_data = {"search": view.to_search(), "area": area.code, "stamp": [st.version, st.minute],
                  "stale": data.served_stale(), "hashes": {**old, **hashes}, "clicks": clicks,
                  "restyle": not same_view, "deferred": False}
    new_hash = view.to_hash()
    # The layout's inline geometry (its first view's) goes as the map is sent other areas: dash-leaflet draws
    # `data` while it is set, whatever the url.
    geometry = None if result[OUTPUTS.index("grid-layer.url")] is not no_update else no_update
    return (*result, stamp_update(last, stamp_data), new_hash if new_hash != (fragment or "") else no_update,
            *controls, geometry)


def _deferred_lists(view, area, st, last: dict, clicks, clock) -> tuple:
    """The first render's answer when the layout drew this view at this stamp: the side panel's lists it left
    out (DEFERRED) and the clock, nothing else (the layout's own outputs are at least as fresh as these)."""
    out, hashes = memo_outputs(view, area, st)
    result = [out[k] if k in DEFERRED else no_update for k in OUTPUTS]
    result[OUTPUTS.index("cockpit-clock.children")] = clock
    stamp_data = {**last, "deferred": False, "clicks": clicks,
                  "hashes": {**last.get("hashes", {}), **{k: hashes[k] for k in DEFERRED if k in hashes}}}
    return (*result, stamp_data)


@callback(Output("grid-tiles", "children"), Output("tile-state", "data"),
          Output("map-legend", "children", allow_duplicate=True),
          Input("cockpit-map", "bounds"), Input("cockpit-map", "zoom"), Input("view-stamp", "data"),
          State("tile-state", "data"), prevent_initial_call=True)
@requires("view_cockpit", panels=("map",))
def render_tiles(bounds, zoom, view_stamp, last):
    """Finer grids for the tiles around the map view once zoomed in far enough; nothing is fetched below.

    Sends only when the set of tiles or their colours changed; the legend follows the finer grids.
    """
    if not isinstance(view_stamp, dict) or not principal().shows("map"):
        return no_update, no_update, no_update
    view, area = resolve_view(view_stamp.get("search"))
    shown = map_level(view, area)
    level, codes = fine_tiles(area, shown, bounds, zoom)
    warm_fine_levels(view, area, shown)
    st = data.scoped(data.stamp(), area.path)
    if level is None:
        if not last:
            return no_update, no_update, no_update
        _level, values = map_values(view, area, st)  # back to the choropleth's legend
        return [], None, legend_items(view.metric, hideout_for(view, values, _level))
    scale = fine_scale(st, view, area.path, level)
    hideouts = tile_hideouts(scale, fine_values(st, view, area.path, level), codes)
    state = {"keys": sorted(f"{x}/{y}" for x, y in codes), "area": area.code, "level": level,
             "colours": flow.fingerprint(sorted((f"{x}/{y}", h) for (x, y), h in hideouts.items())),
             # render() may have put the choropleth's legend back: then this one goes out again
             "legend": (view_stamp.get("hashes") or {}).get("map-legend.children")}
    if state == last:
        return no_update, no_update, no_update
    legend = legend_items(view.metric, scale, AREA_LEVELS[level])
    return tile_layers(area.code, level, level_index(level).zoom, hideouts), state, legend


def trend_graphs(figs: tuple) -> list:
    """The trend row's three charts."""
    return [dcc.Graph(id=ident, figure=fig, config=GRAPH_CONFIG, className="trend")
            for ident, fig in zip(("trend-daily", "trend-categories", "trend-hourly"), figs)]


@callback(Output("trend-row", "children"), Output("trend-stamp", "data"), Input("view-stamp", "data"),
          State("trend-stamp", "data"), prevent_initial_call=True)
@requires("view_cockpit", panels=("trends",))
def render_trends(view_stamp, last):
    """Charts follow the map in a second step, and only when their view, data version or day changed."""
    if not isinstance(view_stamp, dict) or not view_stamp.get("stamp"):
        return no_update, no_update
    version, minute = view_stamp["stamp"]
    key = {"search": view_stamp["search"], "stamp": [version, minute[:8]]}  # data version and day
    if key == last:
        return no_update, no_update
    view, area = resolve_view(view_stamp["search"])
    return trend_graphs(trend_figures(view, area, data.scoped(data.stamp(), area.path))), key


@callback(Output("event-detail-body", "children"), Output("event-detail", "className"),
          Input("event-markers", "clickData"), Input("open-event", "data"),
          Input("close-detail", "n_clicks"), State("view-stamp", "data"), prevent_initial_call=True)
@requires("view_cockpit", panels=("warnings", "map"))
def show_event(marker, opened, _close, last):
    """Open an event's detail from a marker or a row of 预警 / 最新事件; close it again."""
    trig = ctx.triggered_id
    if trig == "close-detail":
        return [], "event-detail hidden"
    if trig == "open-event":
        event_id = opened.get("id") if isinstance(opened, dict) else None
    else:
        event_id = ((marker or {}).get("properties") or {}).get("id")
    if event_id is None:
        return no_update, no_update
    _view, area = resolve_view("?area=" + str((last or {}).get("area") or ""))
    with current().engine.connect() as conn:
        detail = event_detail(conn, int(event_id))
    if detail is None or not (detail.get("area_path") or "").startswith(area.path) or not covers(detail["area_path"]):
        return [html.P("该事件不在当前范围内")], "event-detail"
    warned = data.warnings(data.stamp(), area.path).events.get(detail["id"])
    return event_detail_view(detail, warned, principal()), "event-detail"


# The change stream opens once the first view is drawn (first-drawn), or as a cockpit the page router built
# mounts its location; not as the layout loads, where Dash's work for it held the polygons back (~30 ms).
clientside_callback(ClientsideFunction("gridCockpit", "liveChanges"), Output("live-state", "data"),
                    Input("first-drawn", "data"), Input("url", "hash"), State("live-url", "data"),
                    State("cockpit-refresh", "interval"), prevent_initial_call=True)

clientside_callback(ClientsideFunction("gridCockpit", "kioskNext"), Output("kiosk-state", "data"),
                    Input("kiosk-tick", "n_intervals"), State("kiosk-playlist", "data"), State("kiosk-state", "data"),
                    prevent_initial_call=True)
