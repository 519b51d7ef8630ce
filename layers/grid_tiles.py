"""Fine grid layer at high zoom: one geobuf chunk per map tile, only for the tiles around the view."""
from __future__ import annotations

import dash_leaflet as dl

from . import MAP_JS


def tile_url(area_code: str, level: str, z: int, x: int, y: int) -> str:
    """URL of one tile of a level's areas inside an area (the tile owns the areas whose centroid it holds)."""
    return f"/api/v1/geo/{area_code}/{level}/{z}/{x}/{y}.pbf"


def tile_hideouts(scale: dict, value_of, codes_by_tile: dict) -> dict:
    """One hideout per tile: the shared colour scale with only that tile's values (`value_of(code)`)."""
    out = {}
    for tile, codes in codes_by_tile.items():
        values = {c: value_of(c) for c in codes}
        out[tile] = {**scale, "values": {c: v for c, v in values.items() if v is not None}}
    return out


def tile_layers(area_code: str, level: str, zoom: int, hideouts: dict) -> list[dl.GeoJSON]:
    """A GeoJSON layer per tile (stable ids, so tiles already drawn stay as they are when the view moves).

    The layers are not interactive: clicks and hovers reach the choropleth below (drill-down as usual).
    """
    return [dl.GeoJSON(id={"type": "grid-tile", "key": f"{area_code}/{level}/{zoom}/{x}/{y}"},
                       url=tile_url(area_code, level, zoom, x, y), format="geobuf", interactive=False,
                       hideout=hideout, style=MAP_JS("tileStyle"), onEachFeature=MAP_JS("trackTileFeature"))
            for (x, y), hideout in hideouts.items()]
