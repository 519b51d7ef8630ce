"""The cockpit's view as data: the outputs a view shows at a data stamp (shared by the page's layout and its
render callback), their memo, and the small helpers both use. dashboard/pages/cockpit.py lays them out."""
from __future__ import annotations

from dash import Patch, no_update

from dashboard import cockpit_data as data
from dashboard import cockpit_flow as flow
from dashboard.auth import covers, home_code, principal
from dashboard.components.alarm_summary import alarm_rows
from dashboard.components.event_list import event_list
from dashboard.components.feed_strip import feed_strip
from dashboard.components.kpi_strip import kpi_strip
from dashboard.components.panels import level_share, ranking_panel, sort_warned_events, warned_area_rows, warnings_panel
from dashboard.components.trend_charts import category_chart, daily_chart, hourly_chart
from dashboard.components.visit_kpi import with_visit_pill
from dashboard.geo_routes import geometry_url, to_display
from dashboard.runtime import current
from dashboard.view_state import ViewState, parse_search
from data_sources.health import source_health
from governance.reports.area_stats import ranking
from governance.models import AREA_LEVELS
from governance.events.queries import events_by_ids
from governance.core.timeutil import format_local
from governance.alerts.warnings import load_rules
from layers.event_markers import marker_minimum, markers_url
from layers.grid_choropleth import choropleth_hideout, legend_items

# Outputs that belong to a panel an embed token may leave out (the server blanks them).
PANEL_OUTPUTS = {
    "kpis": ("kpi-strip.children", "level-share.children"),
    "warnings": ("warnings-panel.children", "ranking-panel.children", "event-list.children"),
    "map": ("grid-layer.url", "area-outline.url", "dedicated-layer.url", "event-markers.url",
            "map-legend.children"),
}


def resolve_view(search: str | None) -> tuple[ViewState, object]:
    """The view a query string asks for (its area already screened by dashboard.request_guard); none opens home."""
    view = parse_search(search)
    area = data.area(view.area) if view.area else None
    if area is None:
        view = view.with_(area=home_code())
        area = data.area(view.area)
    return view, area


def map_level(view: ViewState, area) -> str:
    """The level the map colours: the area's children, or all its micro-grids when asked."""
    if view.micro and area.level in ("subdistrict", "community", "general_grid"):
        return "micro_grid"
    return data.child_level(area.level) or area.level


def map_values(view: ViewState, area, st) -> tuple[str, dict]:
    """(level shown, metric value per area code) for the map of a view."""
    level = map_level(view, area)
    figures = data.figures(st, area.path, level, view.period)
    return level, {code: f.value(view.metric) for code, f in figures.items()}


def markers_for(view: ViewState, area, st) -> str:
    """URL of the warning points of a view ('' when the overlay is off)."""
    return markers_url(area.code, st.version, marker_minimum(area.level)) if view.markers else ""


def hideout_for(view: ViewState, values: dict, level: str | None = None) -> dict:
    """The choropleth hideout of a view's metric at the map level shown (fixed class breaks per level and period)."""
    return choropleth_hideout(view.metric, values, load_rules().colors, level=level, period=view.period)


def panels(view: ViewState, area, st) -> dict:
    """Contents of every refreshable panel for a view at a data stamp."""
    level = map_level(view, area)
    figures = data.figures(st, area.path, level, view.period)
    warned = data.warnings(st, area.path)
    with current().engine.connect() as conn:
        ev_rows = sort_warned_events(warned.events, events_by_ids(conn, warned.most_urgent(60)))
    grid_rows = warned_area_rows(figures, view)
    by_level = data.closed_levels(st, area.path, view.period)
    with current().engine.connect() as conn:  # 走访完成率 (#19): visits move no data version, so read on each render
        levels = with_visit_pill(level_share(by_level), conn, area.path, current().now())
    return {
        "kpis": kpi_strip(data.kpis(st, area.path, view.period)),
        "levels": levels,
        "warnings": alarm_rows(warned, {c: f.name for c, f in figures.items()}, principal().can("view_alarm_quality"))
        + warnings_panel(ev_rows, grid_rows),
        "ranking": ranking_panel(ranking(figures), view, AREA_LEVELS.get(level, "")),
        "latest": event_list(data.latest(st, area.path)),
        "feeds": feed_strip(source_health(current().engine, current().now()))
        if principal().kind in ("user", "kiosk") else [],
        "clock": f"数据更新于 {format_local(current().now(), '%H:%M:%S')}",
    }


def display_bounds(area) -> tuple[float, float, float, float]:
    """An area's bounds in the map's display datum."""
    min_lon, min_lat = to_display(area.bounds[0], area.bounds[1])
    max_lon, max_lat = to_display(area.bounds[2], area.bounds[3])
    return min_lon, min_lat, max_lon, max_lat


def trend_figures(view: ViewState, area, st) -> tuple:
    """The three trend charts of a view (new vs closed per day, categories, 24-hour rhythm)."""
    if not principal().shows("trends"):
        return {}, {}, {}
    trends = data.trend_series(st, area.path, view.period)
    return (daily_chart(trends["daily"]), category_chart(trends["categories"]),
            hourly_chart(trends["hourly"]))


def in_scope(area_ref) -> bool:
    """True when the principal may open an area of the breadcrumb."""
    return covers(area_ref.path)


OUTPUTS = ["grid-layer.url", "grid-layer.hideout", "area-outline.url", "dedicated-layer.url",
           "event-markers.url", "cockpit-map.viewport", "breadcrumb.children", "map-legend.children",
           "area-title.children", "kpi-strip.children", "warnings-panel.children", "ranking-panel.children",
           "event-list.children", "feed-strip.children", "level-share.children", "cockpit-clock.children"]
ALWAYS_SENT = {"cockpit-clock.children"}


def view_outputs(view: ViewState, area, st) -> dict:
    """Every output of the cockpit for a view at a data stamp (shared by layout and render)."""
    data.prefetch(st, area.path, view.period)
    level, values = map_values(view, area, st)
    hideout = hideout_for(view, values, level)
    p = panels(view, area, st)
    out = {"grid-layer.url": geometry_url(area.code, level), "grid-layer.hideout": hideout,
            "area-outline.url": geometry_url(area.code, area.level),
            "dedicated-layer.url": geometry_url(area.code, "dedicated_grid") if view.dedicated else "",
            "event-markers.url": markers_for(view, area, st),
            "map-legend.children": legend_items(view.metric, hideout),
            "area-title.children": f" · {area.name}", "kpi-strip.children": p["kpis"],
            "level-share.children": p["levels"],
            "warnings-panel.children": p["warnings"], "ranking-panel.children": p["ranking"],
            "event-list.children": p["latest"], "feed-strip.children": p["feeds"],
            "cockpit-clock.children": p["clock"]}
    who = principal()
    for panel, keys in PANEL_OUTPUTS.items():
        if not who.shows(panel):  # an embed without this panel gets nothing of it, not a hidden copy
            out.update({k: [] if k.endswith("children") else "" for k in keys})
            if panel == "map":
                out["grid-layer.hideout"] = hideout_for(view, {}, level)
    return out


def warm_drilldowns(view: ViewState, area, st) -> None:
    """When a person opens a view, compute the views a click on its map may open next (warm_children).

    Only on opening (first render, drill-down, link, playlist step), never on a refresh of the same view: under
    load every data version would otherwise recompute the children of every open view (bench.load: ~40 % of
    the web processes' CPU), for clicks that mostly never come. An embed is a fixed view: nothing to warm."""
    if principal().kind in ("user", "kiosk"):
        data.warm_children(st, area.path, area.level, view.period)


def memo_outputs(view: ViewState, area, st) -> tuple[dict, dict]:
    """view_outputs and their fingerprints, built once per view, data stamp and audience in this process:
    every wall on a view asks for the same outputs when a change is pushed, and building and hashing
    them costs more than the figures themselves once those are cached."""
    who = principal()
    key = (view.to_search(), area.code, st.version, st.minute, who.kind, who.panels, who.can("view_alarm_quality"))

    def build():
        out = view_outputs(view, area, st)
        return out, flow.fingerprints(out, ALWAYS_SENT)
    return data.outputs_once(key, build)


def restyle(key: str, value):
    """A Patch that restyles the choropleth in place (geometry and map state stay), else None.

    Every key of the hideout is set, so the map's scale can never mix two metrics."""
    if key != "grid-layer.hideout":
        return None
    patch = Patch()
    for k, v in value.items():
        patch[k] = v
    return patch



def stamp_update(last: dict, stamp_data: dict):
    """The view stamp to store: a Patch of what changed (an idle minute moves only the stamp), all of it
    when nothing was stored yet, no_update when nothing changed."""
    if not last:
        return stamp_data
    changes = flow.stamp_changes(last, stamp_data)
    if not changes:
        return no_update
    patch = Patch()
    for path, value in changes.items():
        target = patch
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return patch
