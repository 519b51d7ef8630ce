"""HTTP routes serving area geometry as geobuf, cached per world (on the app's runtime) and validated by ETag."""
from __future__ import annotations

import base64
import hashlib
import threading

import geobuf
from flask import Blueprint, Response, abort, request

from governance.core.geo import geometry_wgs84_to_gcj02, wgs84_to_gcj02
from governance.models import AREA_LEVELS
from governance.events.queries import area_by_code, area_features, features_by_codes, world_info
from governance.core.tiling import FINE_LEVELS, LevelIndex, build_index

from .runtime import CacheSpec, current

geo = Blueprint("geo", __name__)


def display_datum() -> str:
    """Datum the map draws in: GCJ-02 only when GCJ-02 basemap tiles are configured."""
    settings = current().settings
    return "gcj02" if settings.tile_url and settings.tile_datum == "gcj02" else "wgs84"


def to_display(lon: float, lat: float) -> tuple[float, float]:
    """A WGS84 point in the display datum."""
    if display_datum() == "gcj02":
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)
        return float(g_lon), float(g_lat)
    return lon, lat


def _shift_features(fc: dict) -> dict:
    """Convert every coordinate of a FeatureCollection from WGS84 to GCJ-02."""
    import shapely

    for f in fc["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        f["geometry"] = shapely.geometry.mapping(geometry_wgs84_to_gcj02(geom))
    return fc


ENCODED = CacheSpec("geo.encoded", 64, "(world, area, level, datum) → (geobuf body, ETag) of a level's areas")
INDEXES = CacheSpec("geo.indexes", 8, "(world, level) → the tile index of a fine level")
TILES = CacheSpec("geo.tiles", 1024, "(world, area, level, x, y, datum) → (geobuf body, ETag, areas dropped)")
SEEN = CacheSpec("geo.seen", 8, "level → [bytes, areas] of the tiles encoded so far (tile size estimates)")
INLINE = CacheSpec("geo.inline", 16, "(world, area, level, datum) → a level's areas as base64 geobuf for a page's "
                   "layout, or None when too large")
INLINE_MOST_BYTES = 48 * 1024  # of geobuf: a larger view's geometry comes by its URL (cached by the browser)


def _encoded(world_key: str, code: str, level: str, datum: str = "wgs84") -> tuple[bytes, str]:
    """The geobuf and ETag of a level's areas inside an area (kept on the runtime per world)."""
    return current().cache(ENCODED).setdefault((world_key, code, level, datum),
                                               lambda: _encode(code, level, datum))


def _encode(code: str, level: str, datum: str) -> tuple[bytes, str]:
    engine = current().engine
    with engine.connect() as conn:
        area = area_by_code(conn, code)
        if area is None:
            return b"", ""
        fc = area_features(conn, area.path, level)
    if datum == "gcj02":
        fc = _shift_features(fc)
    body = geobuf.encode(fc, 6)
    return body, hashlib.sha1(body).hexdigest()[:16]


def inline_geometry(code: str, level: str) -> str | None:
    """A level's areas inside an area as the geobuf its URL serves, base64-encoded for a page's layout to carry
    (dash-leaflet's GeoJSON takes such `data` with format "geobuf": the map draws them in React's first pass, with
    no fetch before), or None when the area is unknown or the geometry is larger than a layout should carry. The
    caller has screened the area's scope."""
    world_key, datum = world_key_now(), display_datum()

    def build():
        body, etag = _encoded(world_key, code, level, datum)
        return base64.b64encode(body).decode("ascii") if etag and len(body) <= INLINE_MOST_BYTES else None
    return current().cache(INLINE).setdefault((world_key, code, level, datum), build)


def geometry_url(code: str, level: str) -> str:
    """URL of the geobuf of one level's areas inside an area."""
    return f"/api/v1/geo/{code}/{level}.pbf"


@geo.get("/api/v1/geo/<code>/<level>.pbf")
def area_geobuf(code: str, level: str):
    """Serve the areas of `level` inside area `code` as geobuf (404 for unknown ones)."""
    if level not in AREA_LEVELS:
        abort(404, description=f"unknown level {level!r}")
    world_key = _world_key_of_scoped_area(code)
    body, etag = _encoded(world_key, code, level, display_datum())
    if not etag:
        abort(404, description=f"unknown area {code!r}")
    return _geobuf_response(body, etag)


def _world_key_of_scoped_area(code: str) -> str:
    """The world's cache key, after a 404 for an area unknown or outside the caller's scope (alike)."""
    from . import cockpit_data
    from .auth import covers

    area = cockpit_data.area(code)
    if area is None or not covers(area.path):  # outside the scope looks exactly like unknown
        abort(404, description=f"unknown area {code!r}")
    return world_key_now()


def world_key_now() -> str:
    """The current world's key in the geometry caches (when it was generated: a new world is new geometry)."""
    with current().engine.connect() as conn:
        return world_info(conn).get("generated_at", "")


def _geobuf_response(body: bytes, etag: str) -> Response:
    """A geobuf body with its ETag (304 when the browser has it), privately cacheable for 5 minutes."""
    if request.if_none_match.contains(etag):
        return Response(status=304)
    resp = Response(body, mimetype="application/octet-stream")
    resp.set_etag(etag)
    resp.cache_control.max_age = 300
    resp.cache_control.private = True
    return resp


# A tile never ships more than this; a view's tiles together stay under VIEW_BUDGET (see the cockpit).
MAX_TILE_BYTES = 512 * 1024
_INDEX_LOCKS = {level: threading.Lock() for level in FINE_LEVELS}


def _build_index(level: str) -> LevelIndex:
    with current().engine.connect() as conn:
        return build_index(conn, level)


def level_index(level: str) -> LevelIndex:
    """The tile index of a fine level for the current world (built once per world and app)."""
    rt = current()
    world_key = world_key_now()
    indexes = rt.cache(INDEXES)
    found = indexes.get((world_key, level))
    if found is not None:
        return found
    with _INDEX_LOCKS[level]:  # built once even when many tile requests arrive together (~1 s at city scale)
        return indexes.setdefault((world_key, level), lambda: _build_index(level))


_BYTES_PER_FEATURE = {"community": 600, "general_grid": 300, "micro_grid": 150}  # until a tile was encoded


def tile_size_estimate(level: str, n_features: int) -> int:
    """Bytes a tile of n areas of `level` is expected to take (measured from tiles encoded so far)."""
    seen = current().cache(SEEN).get(level)
    per = seen[0] / seen[1] if seen and seen[1] else _BYTES_PER_FEATURE.get(level, 300)
    return int(per * n_features) + 64


def tile_cache(runtime=None):
    """The encoded tiles an app keeps (its runtime's; default the current one)."""
    return (runtime or current()).cache(TILES)


def _tile(world_key: str, code: str, level: str, x: int, y: int, datum: str = "wgs84") -> tuple[bytes, str, int]:
    """A tile's geobuf, ETag and number of areas dropped by the cap (kept on the runtime per world)."""
    return tile_cache().setdefault((world_key, code, level, x, y, datum),
                                   lambda: _encode_tile(code, level, x, y, datum))


def _encode_tile(code: str, level: str, x: int, y: int, datum: str) -> tuple[bytes, str, int]:
    index = level_index(level)
    with current().engine.connect() as conn:
        area = area_by_code(conn, code)
        codes = index.in_tile(x, y, area.path) if area else []
        fc = features_by_codes(conn, codes)
    if datum == "gcj02":
        fc = _shift_features(fc)
    body, dropped = geobuf.encode(fc, 6), 0
    while len(body) > MAX_TILE_BYTES and fc["features"]:  # cap: keep the first areas (code order)
        keep = int(len(fc["features"]) * MAX_TILE_BYTES / len(body) * 0.95)
        dropped += len(fc["features"]) - keep
        fc["features"] = fc["features"][:keep]
        body = geobuf.encode(fc, 6)
    seen = current().cache(SEEN).setdefault(level, lambda: [0, 0])
    seen[0] += len(body)
    seen[1] += len(fc["features"])
    return body, hashlib.sha1(body).hexdigest()[:16], dropped


def tile_url_ok(level: str, z: int) -> bool:
    """True when `level` is cut into tiles at zoom z."""
    return level in FINE_LEVELS and FINE_LEVELS[level][0] == z


@geo.get("/api/v1/geo/<code>/<level>/<int:z>/<int:x>/<int:y>.pbf")
def area_tile(code: str, level: str, z: int, x: int, y: int):
    """Serve the areas of `level` inside area `code` that one map tile owns (centroid in the tile), as geobuf."""
    if not tile_url_ok(level, z) or not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
        abort(404, description="no such tile")
    world_key = _world_key_of_scoped_area(code)
    body, etag, dropped = _tile(world_key, code, level, x, y, display_datum())
    resp = _geobuf_response(body, etag)
    if dropped and resp.status_code == 200:
        resp.headers["X-Areas-Dropped"] = str(dropped)
    return resp


@geo.get("/api/v1/warnings/<code>.geojson")
def warning_points(code: str):
    """Open events with a warning colour inside an area, as GeoJSON points (cached per version)."""
    from flask import jsonify

    from governance.events.queries import events_by_ids
    from governance.alerts.warnings import RANK

    from . import cockpit_data

    minimum = request.args.get("min", "blue")
    if minimum not in RANK:
        abort(400, description="min must be a warning level")
    from .auth import covers

    area = cockpit_data.area(code)
    if area is None or not covers(area.path):
        abort(404, description=f"unknown area {code!r}")
    st = cockpit_data.stamp()
    warned = cockpit_data.warnings(st, area.path)
    ids = [eid for eid, (lv, _) in warned.events.items() if lv != "none" and RANK[lv] >= RANK[minimum]]
    with current().engine.connect() as conn:
        rows = events_by_ids(conn, ids)
    # A city or district holds tens of thousands of red events: there the points carry no title (a click
    # still opens the event) and metre-rounded coordinates, which keeps the payload ~4× smaller.
    compact = area.level in ("city", "district")
    features = []
    for r in rows:
        if r["lon"] is None:
            continue
        lon, lat = to_display(r["lon"], r["lat"])
        props = {"id": r["id"], "level": warned.events[r["id"]][0]}
        if not compact:
            props["title"] = f"{r['category']}｜{r['title']}"[:80]
        features.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point", "coordinates": [round(lon, 5), round(lat, 5)] if compact else [lon, lat]}})
    resp = jsonify(type="FeatureCollection", features=features)
    resp.cache_control.max_age = 3600  # the URL carries the data version
    resp.cache_control.private = True
    return resp
