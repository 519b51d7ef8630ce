"""Finer grids over the cockpit map at high zoom: which tiles a view needs, their colours, warm-up."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from governance.core.tiling import FINE_LEVELS, LEVEL_ORDER, TILED_FOCUS, fine_level, within_budget
from governance.alerts.warnings import load_rules
from layers.grid_choropleth import choropleth_scale

from . import cockpit_data as data
from .runtime import bound, current
from .geo_routes import display_datum, level_index, tile_size_estimate

# Bytes the fine tiles of one view may add up to (the rest of a view stays far below 1 MB).
VIEW_BUDGET = 2 * 1024 * 1024


def view_box(bounds) -> tuple[float, float, float, float]:
    """The map's [[south, west], [north, east]] as WGS84 (west, south, east, north)."""
    (south, west), (north, east) = bounds
    if display_datum() == "gcj02":
        from governance.core.geo import gcj02_to_wgs84

        (west, east), (south, north) = gcj02_to_wgs84([west, east], [south, north])
    return float(west), float(south), float(east), float(north)


def fine_tiles(area, shown_level: str, bounds, zoom) -> tuple[str | None, dict]:
    """(level, {tile: codes in the area}) of the finer grids a map view shows, nearest first within VIEW_BUDGET."""
    level = fine_level(area.level, shown_level, zoom)
    if level is None or not bounds:
        return None, {}
    index = level_index(level)
    codes = {t: index.in_tile(*t, area.path) for t in index.view_tiles(view_box(bounds))}
    codes = {t: c for t, c in codes.items() if c}
    chosen, _total = within_budget(list(codes), lambda t: tile_size_estimate(level, len(codes[t])), VIEW_BUDGET)
    return level, {t: codes[t] for t in chosen}


def fine_scale(st, view, path: str, level: str) -> dict:
    """The colour scale of the finer areas of a level: fixed per metric, level and period (the data stamp
    and scope are accepted for the callers and do not change it)."""
    return choropleth_scale(view.metric, (), load_rules().colors, level=level, period=view.period)


def fine_values(st, view, path: str, level: str):
    """code → the view's metric value of a finer area (None when it has none)."""
    figures = data.figures(st, path, level, view.period)
    return lambda code: figures[code].value(view.metric) if code in figures else None


_WARMER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fine-grid-warmer")
_WARMING: set = set()


def warm_fine_levels(view, area, shown_level: str) -> None:
    """Compute, in the background, the tile index and colours of every finer level a zoomed-in view of
    this area may show, so the first zoom-in only draws (once per data stamp; meanwhile the previous
    stamp's figures are served)."""
    if area.level not in TILED_FOCUS:
        return
    st = data.scoped(data.stamp(), area.path)
    key = (current(), st.version, st.minute, area.path, view.period, view.metric)  # per app: its runtime
    if key in _WARMING:
        return
    _WARMING.clear()  # one view's key at a time is enough to skip repeats
    _WARMING.add(key)
    finer = [lv for lv in FINE_LEVELS if LEVEL_ORDER.index(lv) > LEVEL_ORDER.index(shown_level)]

    def warm():
        for level in finer:
            level_index(level)
            data.figures(st, area.path, level, view.period)
    _WARMER.submit(bound(warm))  # the warmer thread computes for this app
