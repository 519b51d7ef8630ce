"""Nested tessellation: split a polygon into n cells with no gaps and no overlaps (clipped Voronoi)."""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

GRID_SIZE = 1e-7  # ~1 cm: imported outlines are cleaned on this grid before tessellation


def sample_points(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """Return n uniformly random points (n×2 array) strictly inside a polygon."""
    min_x, min_y, max_x, max_y = poly.bounds
    shapely.prepare(poly)
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        k = max(32, 3 * (n - have))
        xs = rng.uniform(min_x, max_x, k)
        ys = rng.uniform(min_y, max_y, k)
        inside = shapely.contains_xy(poly, xs, ys)
        pts = np.column_stack([xs[inside], ys[inside]])
        out.append(pts)
        have += len(pts)
    return np.concatenate(out)[:n]


def _cells(poly, pts: np.ndarray) -> list:
    diagram = shapely.voronoi_polygons(MultiPoint(pts), extend_to=poly.envelope.buffer(1.0),
                                       ordered=True)
    # Exact (floating) overlay: neighbours share the very same edge vertices, and children
    # meet the parent's edges to within rounding of doubles (no snapping grid to open slivers).
    return list(shapely.intersection(np.asarray(diagram.geoms), poly))


def _clean(geom):
    """Keep only polygonal parts of a clipped cell (drop slivers' lines and points)."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    flat = []
    for p in parts:
        flat.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(flat) if len(flat) > 1 else (flat[0] if flat else Polygon())


def partition(poly, n: int, rng: np.random.Generator, lloyd: int = 2,
              weights: np.ndarray | None = None) -> list:
    """Split `poly` into n cells covering it exactly: each cell lies inside it, none overlap.

    Seeds are spread by `lloyd` Lloyd iterations so cells look like city blocks, not shards.
    """
    if n <= 1:
        return [poly]
    pts = sample_points(poly, n, rng)
    for _ in range(lloyd):
        cells = _cells(poly, pts)
        new = []
        for cell, old in zip(cells, pts):
            if cell.is_empty:
                new.append(old)
                continue
            c = cell.centroid
            if not poly.contains(c):
                c = cell.representative_point()
            new.append((c.x, c.y))
        pts = np.asarray(new)
        # Jitter duplicates apart (Voronoi needs distinct seeds).
        _, idx = np.unique(np.round(pts, 9), axis=0, return_index=True)
        if len(idx) < len(pts):
            dup = np.setdiff1d(np.arange(len(pts)), idx)
            pts[dup] = sample_points(poly, len(dup), rng)
    cells = [_clean(c) for c in _cells(poly, pts)]
    return [c for c in cells if not c.is_empty and c.area > 0]


def snap(geom):
    """Snap an imported outline to a ~1 cm grid (removes duplicate and near-duplicate vertices)."""
    return shapely.from_wkb(shapely.to_wkb(shapely.set_precision(geom, GRID_SIZE)))
