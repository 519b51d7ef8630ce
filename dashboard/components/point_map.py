"""A small map without tiles: an event's micro-grid outline and its point (task cards, event details)."""
from __future__ import annotations

import json

import dash_leaflet as dl
import shapely.geometry

from governance.core.geo import geometry_wgs84_to_gcj02
from layers import MAP_JS

from ..geo_routes import display_datum, to_display


def point_map(detail: dict, class_name: str, zoom_control: bool = False):
    """The micro-grid's outline and the event's point, the whole grid in view (None without a point)."""
    if detail.get("lat") is None or detail.get("lon") is None:
        return None
    lon, lat = to_display(detail["lon"], detail["lat"])
    geometry = json.loads(detail["area_geometry"]) if detail.get("area_geometry") else None
    if geometry and display_datum() == "gcj02":
        geometry = shapely.geometry.mapping(geometry_wgs84_to_gcj02(shapely.geometry.shape(geometry)))
    children = [dl.CircleMarker(center=[lat, lon], radius=8,
                                pathOptions={"color": "#fff", "fillColor": "#e63946", "fillOpacity": 1})]
    if geometry:
        children.insert(0, dl.GeoJSON(data={"type": "Feature", "geometry": geometry, "properties": {}},
                                      style=MAP_JS("outlineStyle")))
    view = {"center": [lat, lon], "zoom": 17}
    if geometry:  # the whole micro-grid in view, the point inside it
        x0, y0, x1, y1 = shapely.geometry.shape(geometry).union(shapely.geometry.Point(lon, lat)).bounds
        view = {"bounds": [[y0, x0], [y1, x1]], "boundsOptions": {"padding": [12, 12]}}
    return dl.MapContainer(children=children, className=class_name, attributionControl=False,
                           zoomControl=zoom_control, preferCanvas=True, **view)
