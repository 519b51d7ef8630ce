"""Choropleth of grid areas, styled from `hideout` so refreshes never resend geometry."""
from __future__ import annotations

import dash_leaflet as dl
from dash import html

from . import MAP_JS

# Open-event classes (lower bounds) and their colours, dark-wall friendly.
OPEN_EVENT_CLASSES = [0, 1, 3, 6, 10, 20]
OPEN_EVENT_COLORS = ["#1c2b45", "#2d6a9f", "#e9c46a", "#f4a261", "#e76f51", "#c1121f"]


def class_labels(classes: list[float]) -> list[str]:
    """Human labels of class ranges, e.g. ['0', '1–2', '3–5', …, '≥20']."""
    labels = []
    for i, low in enumerate(classes):
        high = classes[i + 1] - 1 if i + 1 < len(classes) else None
        if high is None:
            labels.append(f"≥{low:g}")
        elif high == low:
            labels.append(f"{low:g}")
        else:
            labels.append(f"{low:g}–{high:g}")
    return labels


def choropleth_hideout(values: dict[str, float], classes=None, colors=None) -> dict:
    """Build the hideout a grid layer is styled from: value per area code, classes and colours."""
    return {"values": values, "classes": classes or OPEN_EVENT_CLASSES,
            "colors": colors or OPEN_EVENT_COLORS}


def grid_layer(layer_id: str, url: str, hideout: dict) -> dl.GeoJSON:
    """A choropleth layer of the areas served as geobuf at `url`."""
    return dl.GeoJSON(id=layer_id, url=url, format="geobuf", hideout=hideout,
                      style=MAP_JS("gridStyle"), onEachFeature=MAP_JS("trackFeature"),
                      hoverStyle=MAP_JS("hoverStyle"))


def legend(title: str, classes=None, colors=None) -> html.Div:
    """The map legend: a coloured swatch and label per class."""
    classes, colors = classes or OPEN_EVENT_CLASSES, colors or OPEN_EVENT_COLORS
    return html.Div(className="map-legend", children=[
        html.Div(title, className="map-legend-title"),
        *[html.Div(className="map-legend-row", children=[
            html.Span(className="map-legend-swatch", style={"background": color}),
            html.Span(label)]) for color, label in zip(colors, class_labels(classes))],
    ])
