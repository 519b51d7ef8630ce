"""Map tiles for fine grid levels: each area belongs to the one Web-Mercator tile holding its centroid.

A view asks for the tiles around it (padded by the level's largest area), so every area that
touches the view is drawn exactly once and tile-keyed chunks cache well (same URL, same bytes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import Area

# Levels drawn as tiles when the map is zoomed in: level → (tile zoom, lowest map zoom that shows it).
# Chosen so a 1920×1080 view of the densest part of the city stays at a few thousand polygons.
FINE_LEVELS: dict[str, tuple[int, float]] = {"community": (12, 13.0), "general_grid": (14, 15.5),
                                             "micro_grid": (16, 17.0)}
LEVEL_ORDER = ["city", "district", "subdistrict", "community", "general_grid", "micro_grid"]
MAX_LAT = 85.0511287798
# More tiles than this around one view means the view is not a real screen (e.g. a forged callback).
MAX_VIEW_TILES = 2000


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The (x, y) of the zoom-z tile holding a point (west and north edges inclusive)."""
    n = 1 << z
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = int(math.floor((lon + 180.0) / 360.0 * n))
    rad = math.radians(lat)
    y = int(math.floor((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n))
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_covering(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """Every zoom-z tile (x, y) that overlaps (west, south, east, north)."""
    west, south, east, north = bounds
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


# Focus levels whose map adds finer grids by tile when zoomed in; inside a community the drill-down
# itself shows general grids and micro-grids (a community's whole micro-grid layer is small).
TILED_FOCUS = ("city", "district", "subdistrict")


def fine_level(focus_level: str, shown_level: str, zoom: float | None) -> str | None:
    """The finer level drawn by tile over a map of `shown_level` areas at a map zoom (None: nothing)."""
    if zoom is None or focus_level not in TILED_FOCUS or shown_level not in LEVEL_ORDER:
        return None
    finer = [lv for lv, (_z, min_zoom) in FINE_LEVELS.items()
             if zoom >= min_zoom and LEVEL_ORDER.index(lv) > LEVEL_ORDER.index(shown_level)]
    return max(finer, key=LEVEL_ORDER.index) if finer else None


def _tile_xy(lon: np.ndarray, lat: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised tile_of."""
    n = 1 << z
    x = np.clip(np.floor((lon + 180.0) / 360.0 * n), 0, n - 1).astype(np.int64)
    rad = np.radians(np.clip(lat, -MAX_LAT, MAX_LAT))
    y = np.clip(np.floor((1.0 - np.arcsinh(np.tan(rad)) / math.pi) / 2.0 * n), 0, n - 1).astype(np.int64)
    return x, y


@dataclass
class LevelIndex:
    """Every area of one level grouped by the tile that owns it (no geometry), for tile lookups."""

    level: str
    zoom: int
    codes: np.ndarray                                   # code per row, rows sorted by code
    paths: np.ndarray
    rows: dict[tuple[int, int], np.ndarray]             # tile → its rows (ascending = code order)
    extent: dict[tuple[int, int], tuple]                # tile → bounds of its areas (w, s, e, n)
    reach: tuple[float, float]                          # largest centroid-to-bounds distance (lon, lat)

    def in_tile(self, x: int, y: int, scope_path: str) -> list[str]:
        """Codes of the areas inside `scope_path` that tile (x, y) owns, in code order."""
        low, high = scope_path, scope_path[:-1] + "0"
        return [self.codes[i] for i in self.rows.get((x, y), ()) if low <= self.paths[i] < high]

    def view_tiles(self, view: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        """Tiles owning an area whose bounds meet the view (w, s, e, n), nearest the view's centre first."""
        west, south, east, north = view
        padded = (west - self.reach[0], south - self.reach[1], east + self.reach[0], north + self.reach[1])
        (x0, y0), (x1, y1) = tile_of(padded[0], padded[3], self.zoom), tile_of(padded[2], padded[1], self.zoom)
        if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_VIEW_TILES:
            return []
        near = [t for t in tiles_covering(padded, self.zoom) if t in self.extent]
        hits = [t for t in near if self.extent[t][0] <= east and self.extent[t][2] >= west
                and self.extent[t][1] <= north and self.extent[t][3] >= south]
        cx, cy = tile_of((west + east) / 2, (south + north) / 2, self.zoom)
        return sorted(hits, key=lambda t: ((t[0] - cx) ** 2 + (t[1] - cy) ** 2, t))


def build_index(conn: Connection, level: str) -> LevelIndex:
    """Read one level's codes, paths, centroids and bounds into a LevelIndex."""
    z = FINE_LEVELS[level][0]
    rows = conn.execute(select(Area.code, Area.path, Area.centroid_lon, Area.centroid_lat, Area.min_lon,
                               Area.min_lat, Area.max_lon, Area.max_lat)
                        .where(Area.level == level).order_by(Area.code)).all()
    if not rows:
        return LevelIndex(level, z, np.array([], object), np.array([], object), {}, {}, (0.0, 0.0))
    cols = np.array([r[2:] for r in rows], float)  # cx, cy, min_lon, min_lat, max_lon, max_lat
    cx, cy = cols[:, 0], cols[:, 1]
    tx, ty = _tile_xy(cx, cy, z)
    keys = tx * (1 << 32) + ty
    order = np.argsort(keys, kind="stable")
    bounds = np.unique(keys[order], return_index=True)[1]
    groups, extent = {}, {}
    for members in np.split(order, bounds[1:]):
        tile = (int(tx[members[0]]), int(ty[members[0]]))
        groups[tile] = members
        sub = cols[members]
        extent[tile] = (sub[:, 2].min(), sub[:, 3].min(), sub[:, 4].max(), sub[:, 5].max())
    reach = (float(np.max(np.maximum(cx - cols[:, 2], cols[:, 4] - cx))),
             float(np.max(np.maximum(cy - cols[:, 3], cols[:, 5] - cy))))
    return LevelIndex(level, z, np.array([r.code for r in rows], dtype=object),
                      np.array([r.path for r in rows], dtype=object), groups, extent, reach)


def within_budget(tiles: list, size_of, budget: int) -> tuple[list, int]:
    """The leading tiles whose sizes (bytes, by `size_of`) add up to at most `budget`, and that total."""
    chosen, total = [], 0
    for t in tiles:
        size = size_of(t)
        if total + size > budget:
            break
        chosen.append(t)
        total += size
    return chosen, total
