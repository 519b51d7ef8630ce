"""City map: finer grids served by map tile — exact contents, scope, payload caps, and in the browser
only the tiles around the view, nothing below the zoom threshold."""
from __future__ import annotations

import json
import math
import random

import geobuf
import pytest
import shapely
from shapely.geometry import box
from sqlalchemy import text

from governance.core.tiling import FINE_LEVELS, build_index, fine_level, tiles_covering, within_budget

from .conftest import http_session, screenshot
from .test_kpis import FOCUS

FOCUS_CODE = FOCUS.strip("/").split("/")[-1]


def tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a Web-Mercator tile, written out independently of governance.core.tiling."""
    n = 2 ** z
    lon = lambda i: i / n * 360.0 - 180.0  # noqa: E731
    lat = lambda j: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * j / n))))  # noqa: E731
    return lon(x), lat(y + 1), lon(x + 1), lat(y)


def level_rows(engine, level: str, path: str) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT code, path, centroid_lon, centroid_lat, geometry FROM area "
                                 "WHERE level=:l AND path LIKE :p ORDER BY code"), {"l": level, "p": path + "%"}).all()


def area_path(engine, code: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": code}).scalar()


def tile_codes(session, base: str, area: str, level: str, z: int, x: int, y: int) -> list[str]:
    resp = session.get(f"{base}/api/v1/geo/{area}/{level}/{z}/{x}/{y}.pbf")
    assert resp.status_code == 200, resp.text
    return [f["properties"]["code"] for f in (geobuf.decode(resp.content) or {"features": []})["features"]]  # empty: None


def test_fine_level_follows_the_zoom_and_only_at_wide_focus():
    assert fine_level("city", "district", 9) is None
    assert fine_level("city", "district", 13) == "community"
    assert fine_level("city", "district", 15.5) == "general_grid"
    assert fine_level("city", "district", 17.25) == "micro_grid"
    assert fine_level("subdistrict", "community", 13) is None        # not finer than what is shown
    assert fine_level("subdistrict", "micro_grid", 18) is None       # all micro-grids already shown
    assert fine_level("community", "general_grid", 18) is None       # inside a community the drill shows them
    assert fine_level("city", "district", None) is None


@pytest.mark.parametrize("level", ["micro_grid", "general_grid"])
def test_each_tile_holds_exactly_the_areas_whose_centre_lies_in_it(world_engine, live_server, level):
    s = http_session(world_engine, live_server, "leader")
    rows = level_rows(world_engine, level, FOCUS)
    z = FINE_LEVELS[level][0]
    lons, lats = [r.centroid_lon for r in rows], [r.centroid_lat for r in rows]
    tiles = tiles_covering((min(lons), min(lats), max(lons), max(lats)), z)
    assert len(tiles) > 3
    seen: list[str] = []
    for x, y in tiles:
        west, south, east, north = tile_box(z, x, y)
        want = sorted(r.code for r in rows if west <= r.centroid_lon < east and south < r.centroid_lat <= north)
        got = tile_codes(s, live_server, FOCUS_CODE, level, z, x, y)
        assert got == want, (x, y)
        seen.extend(got)
    assert sorted(seen) == sorted(r.code for r in rows)  # every area once, none twice


def test_a_view_gets_every_area_it_touches_and_no_area_twice(world_engine):
    rows = level_rows(world_engine, "micro_grid", FOCUS)
    geoms = {r.code: shapely.from_geojson(r.geometry) for r in rows}
    with world_engine.connect() as conn:
        index = build_index(conn, "micro_grid")
    rng = random.Random(3)
    lons = [r.centroid_lon for r in rows]
    lats = [r.centroid_lat for r in rows]
    for _ in range(25):
        cx, cy = rng.uniform(min(lons), max(lons)), rng.uniform(min(lats), max(lats))
        half_w, half_h = rng.uniform(0.002, 0.012), rng.uniform(0.001, 0.006)  # ~zoom 17–19 at 1920×1080
        view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        got = [c for t in index.view_tiles(view) for c in index.in_tile(*t, FOCUS)]
        want = {c for c, g in geoms.items() if g.intersects(box(*view))}
        assert len(got) == len(set(got))
        assert want <= set(got), sorted(want - set(got))[:5]
        assert len(got) < len(rows) / 2 or not want  # only around the view


def test_on_a_gcj02_basemap_a_view_gets_every_area_drawn_in_it(world_engine, monkeypatch):
    """With GCJ-02 basemap tiles the map draws areas shifted a few hundred metres and reports its bounds
    in GCJ-02; the tiles chosen still hold every area drawn inside the view."""
    from dashboard import fine_grids
    from governance.core.geo import geometry_wgs84_to_gcj02

    monkeypatch.setattr(fine_grids, "display_datum", lambda: "gcj02")
    rows = level_rows(world_engine, "micro_grid", FOCUS)
    drawn = {r.code: geometry_wgs84_to_gcj02(shapely.from_geojson(r.geometry)) for r in rows}
    with world_engine.connect() as conn:
        index = build_index(conn, "micro_grid")
    rng = random.Random(4)
    centres = [g.centroid for g in drawn.values()]
    for _ in range(25):
        cx = rng.uniform(min(c.x for c in centres), max(c.x for c in centres))
        cy = rng.uniform(min(c.y for c in centres), max(c.y for c in centres))
        half_w, half_h = rng.uniform(0.002, 0.012), rng.uniform(0.001, 0.006)
        view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)  # as the map reports it: GCJ-02
        bounds = [[view[1], view[0]], [view[3], view[2]]]
        got = [c for t in index.view_tiles(fine_grids.view_box(bounds)) for c in index.in_tile(*t, FOCUS)]
        want = {c for c, g in drawn.items() if g.intersects(box(*view))}
        assert want <= set(got), sorted(want - set(got))[:5]
        assert len(got) < len(rows) / 2 or not want


def test_a_view_larger_than_any_screen_gets_no_tiles(world_engine):
    with world_engine.connect() as conn:
        index = build_index(conn, "micro_grid")
    assert index.view_tiles((-180.0, -85.0, 180.0, 85.0)) == []  # a forged payload, answered at once
    assert index.view_tiles((103.9, 30.5, 104.2, 30.8)) == []    # ~30 km at micro-grid tile zoom


def test_tiles_never_leave_the_scope(world_engine, live_server):
    acc = world_engine.accounts
    own, other = acc["communities"][0], acc["communities"][1]
    s = http_session(world_engine, live_server, "community")
    z = FINE_LEVELS["micro_grid"][0]
    mine = level_rows(world_engine, "micro_grid", area_path(world_engine, own))
    own_path = area_path(world_engine, own)
    theirs = [r for r in level_rows(world_engine, "micro_grid", FOCUS) if not r.path.startswith(own_path)]
    # a tile that holds micro-grids of this community and of others, asked for through one's own community
    from governance.core.tiling import tile_of

    own_tiles = {tile_of(r.centroid_lon, r.centroid_lat, z) for r in mine}
    shared = [t for t in own_tiles if any(tile_of(r.centroid_lon, r.centroid_lat, z) == t for r in theirs)]
    assert shared, "test world: the community shares no tile with a neighbour"
    x, y = shared[0]
    got = tile_codes(s, live_server, own, "micro_grid", z, x, y)
    assert got and set(got) <= {r.code for r in mine}
    for area in (other, FOCUS_CODE):  # another community, or the sub-district above: as if it did not exist
        assert s.get(f"{live_server}/api/v1/geo/{area}/micro_grid/{z}/{x}/{y}.pbf").status_code == 404
    assert s.get(f"{live_server}/api/v1/geo/{own}/micro_grid/{z + 1}/{x}/{y}.pbf").status_code == 404  # wrong zoom
    assert s.get(f"{live_server}/api/v1/geo/{own}/district/{z}/{x}/{y}.pbf").status_code == 404      # not tiled


def test_a_tile_is_capped_and_says_what_it_dropped(world_engine, cockpit_app, live_server, monkeypatch):
    from dashboard import geo_routes, runtime

    rows = level_rows(world_engine, "micro_grid", FOCUS)
    z = FINE_LEVELS["micro_grid"][0]
    from governance.core.tiling import tile_of

    counts: dict = {}
    for r in rows:
        t = tile_of(r.centroid_lon, r.centroid_lat, z)
        counts[t] = counts.get(t, 0) + 1
    (x, y), n = max(counts.items(), key=lambda kv: kv[1])
    s = http_session(world_engine, live_server, "leader")
    url = f"{live_server}/api/v1/geo/{FOCUS_CODE}/micro_grid/{z}/{x}/{y}.pbf"
    full = s.get(url)
    monkeypatch.setattr(geo_routes, "MAX_TILE_BYTES", len(full.content) // 3)
    tiles = geo_routes.tile_cache(runtime.of(cockpit_app))
    tiles.clear()
    try:
        capped = s.get(url)
        assert len(capped.content) <= len(full.content) // 3
        kept = [f["properties"]["code"] for f in geobuf.decode(capped.content)["features"]]
        assert int(capped.headers["X-Areas-Dropped"]) == n - len(kept) > 0
        assert kept == [f["properties"]["code"] for f in geobuf.decode(full.content)["features"]][:len(kept)]
    finally:
        tiles.clear()
    assert "X-Areas-Dropped" not in full.headers


def test_view_budget_keeps_the_nearest_tiles():
    sizes = {"a": 400, "b": 300, "c": 500, "d": 10}
    assert within_budget(["a", "b", "c", "d"], sizes.get, 800) == (["a", "b"], 700)
    assert within_budget(["a", "b"], sizes.get, 100) == ([], 0)


@pytest.mark.browser
def test_zooming_in_draws_micro_grids_for_the_view_only(world_engine, live_server, page_factory):
    page = page_factory(1366, 768)
    page.goto(live_server + "/?markers=0")
    page.wait_for_function("window.gridCockpit.drawn.community && window.gridCockpit.drawn.community.size > 0",
                           timeout=20000)
    page.wait_for_timeout(1000)  # kept: "nothing is requested during this second" is what is asserted
    assert not [u for u in page.requests if "/micro_grid/" in u or "/general_grid/" in u]  # nothing below the threshold
    rows = level_rows(world_engine, "micro_grid", FOCUS)
    community = world_engine.accounts["communities"][4]
    centre = shapely.from_geojson(next(r.geometry for r in level_rows(world_engine, "community", FOCUS)
                                       if r.code == community)).representative_point()
    page.evaluate(f"window.gridCockpit.leafletMap().setView([{centre.y}, {centre.x}], 17.5, {{animate: false}}); null")
    page.wait_for_function("window.gridCockpit.drawn.tile_micro_grid && window.gridCockpit.drawn.tile_micro_grid.size > 0",
                           timeout=20000)
    b = page.evaluate("(() => {const b = window.gridCockpit.leafletMap().getBounds();"
                      " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];})()")
    in_view = {r.code for r in rows if shapely.from_geojson(r.geometry).intersects(box(*b))}
    page.wait_for_function(f"{json.dumps(sorted(in_view))}.every(c => window.gridCockpit.drawn.tile_micro_grid.has(c))",
                           timeout=20000)
    drawn = set(page.evaluate("[...window.gridCockpit.drawn.tile_micro_grid]"))
    assert in_view <= drawn <= {r.code for r in rows}
    assert len(drawn) < len(rows) / 3, (len(drawn), len(rows))  # the view's tiles, not the whole sub-district
    tiles = {u.split("/micro_grid/")[1] for u in page.requests if "/micro_grid/" in u}
    assert tiles and all(u.startswith("16/") for u in tiles)
    screenshot(page, "citymap-street-zoom17")
    # drill-down still works through the tiles: a click reaches the community below
    pos = page.evaluate(f"window.gridCockpit.pointOnScreen({json.dumps(community)}, {centre.y}, {centre.x})")
    assert pos, "the choropleth below the tiles does not get the pointer"
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function(f"window.location.hash.indexOf('area={community}') !== -1", timeout=20000)


def test_warning_points_of_wide_areas_are_compact(world_engine, live_server):
    s = http_session(world_engine, live_server, "admin")
    wide = s.get(f"{live_server}/api/v1/warnings/510100.geojson?min=red").json()["features"]
    narrow = s.get(f"{live_server}/api/v1/warnings/{FOCUS_CODE}.geojson?min=red").json()["features"]
    assert wide and {f["properties"]["id"] for f in wide} == {f["properties"]["id"] for f in narrow}
    assert all(set(f["properties"]) == {"id", "level"} for f in wide)
    assert all(round(c, 5) == c for f in wide for c in f["geometry"]["coordinates"])
    assert all(f["properties"]["title"] for f in narrow)
