"""Clustered event markers coloured by warning level; data fetched by URL, cached by version."""
from __future__ import annotations

import dash_leaflet as dl

from . import MAP_JS


def markers_url(area_code: str, version: str, minimum: str = "blue") -> str:
    """URL of an area's events warned at `minimum` or worse, as GeoJSON (version busts the cache)."""
    return f"/api/v1/warnings/{area_code}.geojson?min={minimum}&v={version}"


def marker_minimum(area_level: str) -> str:
    """Wide areas show only red events as points; a community and below show every warning."""
    return "red" if area_level in ("city", "district", "subdistrict") else "blue"


def marker_layer(layer_id: str, url: str, colors: dict) -> dl.GeoJSON:
    """Points clustered with supercluster; each point a circle in its warning colour."""
    return dl.GeoJSON(id=layer_id, url=url, cluster=True, zoomToBoundsOnClick=True,
                      superClusterOptions={"radius": 60, "maxZoom": 17},
                      pointToLayer=MAP_JS("eventPoint"), clusterToLayer=MAP_JS("eventCluster"),
                      hideout={"colors": colors})
