"""Overlay of dedicated grids (专属网格: schools, markets, office towers …) above the grid map."""
from __future__ import annotations

import dash_leaflet as dl

from . import MAP_JS


def dedicated_layer(layer_id: str, url: str) -> dl.GeoJSON:
    """Hatched outlines of the dedicated grids inside an area, with their kind in the tooltip."""
    return dl.GeoJSON(id=layer_id, url=url, format="geobuf", style=MAP_JS("dedicatedStyle"),
                      onEachFeature=MAP_JS("trackFeature"))
