"""Outline layer: boundaries of parent areas (e.g. communities) drawn over a choropleth."""
from __future__ import annotations

import dash_leaflet as dl

from . import MAP_JS


def outline_layer(layer_id: str, url: str) -> dl.GeoJSON:
    """Unfilled boundaries of the areas served as geobuf at `url`, not clickable."""
    return dl.GeoJSON(id=layer_id, url=url, format="geobuf", interactive=False,
                      style=MAP_JS("outlineStyle"), onEachFeature=MAP_JS("trackFeature"))
