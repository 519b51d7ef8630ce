"""Choropleth of grid areas, styled from `hideout` so refreshes never resend geometry."""
from __future__ import annotations

import math

import dash_leaflet as dl
from dash import html

from governance.warnings import LABELS as WARNING_LABELS
from governance.warnings import LEVELS as WARNING_LEVELS

from . import MAP_JS

SEQUENTIAL = ["#1c2b45", "#2d6a9f", "#e9c46a", "#f4a261", "#e76f51", "#c1121f"]
CLOSURE_CLASSES = [0, 70, 80, 85, 90, 95]
CLOSURE_COLORS = ["#c1121f", "#e76f51", "#f4a261", "#e9c46a", "#6fb58a", "#2d9d6b"]
MISSING_COLOR = "#3a4256"
METRIC_TITLES = {"warning": "预警等级", "open": "在办事件数", "closure": "办结率（%）",
                 "per100": "期内每百户事件数"}


def nice_breaks(values: list[float], n: int = 6) -> list[float]:
    """Class lower bounds for `values`: 0, then rounded quantiles (always strictly increasing)."""
    vals = sorted(v for v in values if v is not None and v > 0)
    if not vals:
        return [0, 1]
    out = [0.0]
    for i in range(1, n):
        q = vals[min(len(vals) - 1, int(len(vals) * i / n))]
        mag = 10 ** max(0, int(math.log10(q)) - 1) if q >= 1 else 0.1
        b = max(round(q / mag) * mag, out[-1] + (1 if q >= 1 else 0.1))
        out.append(round(b, 1))
    return sorted(set(out))


def class_labels(classes: list[float]) -> list[str]:
    """Human labels of class ranges, e.g. ['0', '1–2', '3–5', …, '≥20']."""
    labels = []
    for i, low in enumerate(classes):
        nxt = classes[i + 1] if i + 1 < len(classes) else None
        if nxt is None:
            labels.append(f"≥{low:g}")
        elif float(low).is_integer() and float(nxt).is_integer() and nxt - 1 > low:
            labels.append(f"{low:g}–{nxt - 1:g}")
        elif float(low).is_integer() and float(nxt).is_integer():
            labels.append(f"{low:g}")
        else:
            labels.append(f"{low:g}–{nxt:g}")
    return labels


def choropleth_scale(metric: str, values, colors: dict | None = None) -> dict:
    """The colour scale of a metric for these values (any iterable), as a hideout without values."""
    if metric == "warning":
        return {"mode": "category", "colors": colors, "missing": colors["none"]}
    if metric == "closure":
        classes, palette = CLOSURE_CLASSES, CLOSURE_COLORS
    else:
        classes = nice_breaks([v for v in values if v is not None])
        palette = SEQUENTIAL[-len(classes):] if len(classes) < len(SEQUENTIAL) else SEQUENTIAL
        palette = [SEQUENTIAL[0]] + palette[1:] if classes[0] == 0 else palette
    return {"mode": "classes", "classes": classes, "colors": palette[:len(classes)], "missing": MISSING_COLOR}


def choropleth_hideout(metric: str, values: dict[str, object], colors: dict | None = None) -> dict:
    """The hideout a grid layer is styled from, for one metric's values per area code."""
    scale = choropleth_scale(metric, values.values(), colors)
    if scale["mode"] == "category":
        return {**scale, "values": values}
    return {**scale, "values": {k: v for k, v in values.items() if v is not None}}


def grid_layer(layer_id: str, url: str, hideout: dict) -> dl.GeoJSON:
    """A clickable choropleth layer of the areas served as geobuf at `url`."""
    return dl.GeoJSON(id=layer_id, url=url, format="geobuf", hideout=hideout,
                      style=MAP_JS("gridStyle"), onEachFeature=MAP_JS("trackFeature"),
                      hoverStyle=MAP_JS("hoverStyle"))


def legend_items(metric: str, hideout: dict, level_name: str | None = None) -> list:
    """Legend rows (swatch + label) for a hideout; `level_name` names the areas when they are not the
    choropleth's own (the finer grids drawn by tile)."""
    if hideout["mode"] == "category":
        rows = [(hideout["colors"][lv], WARNING_LABELS[lv]) for lv in reversed(WARNING_LEVELS)]
    else:
        rows = list(zip(hideout["colors"], class_labels(hideout["classes"])))
        if metric == "closure":
            rows.append((MISSING_COLOR, "样本不足"))
    title = METRIC_TITLES[metric] + (f" · {level_name}" if level_name else "")
    return [html.Div(title, className="map-legend-title"),
            *[html.Div(className="map-legend-row", children=[
                html.Span(className="map-legend-swatch", style={"background": color}),
                html.Span(label)]) for color, label in rows]]
