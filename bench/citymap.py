"""The whole-city map in headless Chromium: first render, bytes per view and level, pan/zoom loads.

python -m bench.citymap [--databases sqlite,postgresql] [--db PATH] [--runs N]

A city-scale world (~126,000 micro-grids) is seeded once into a SQLite file (reused later) and, when
asked, into a throwaway PostgreSQL. The cockpit (`app.py web`) is opened as a wall device on the
city: first render (server caches warm, browser cache empty), then the drill levels, then zooming
in and panning at community, general-grid and micro-grid zoom. Bytes are what went over the wire
(compressed) for the map: geometry, tiles, warning points and callback responses; the page's own
scripts (Dash, Leaflet, plotly; cached by the browser after the first visit) are counted apart.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from .common import RESULTS, free_port, print_table, timer, wait_http, write_results
from .render import CHROMIUM_ARGS, SECRET, _start, wall_cookies

TARGETS = {"first_render_s": 2.0, "pan_zoom_s": 1.0, "view_bytes": 3 * 1024 * 1024}
MAP_DATA = ("/api/v1/geo/", "/api/v1/warnings/", "/_dash-update-component")
TILE_URL = re.compile(r"/\d+/\d+/\d+\.pbf")
VIEWPORT = {"width": 1920, "height": 1080}
READY = ("window.gridCockpit && window.gridCockpit.drawn.{level} && window.gridCockpit.drawn.{level}.size >= {n}"
         " && document.querySelector('[data-kpi=closure_rate]')")
# Zoom-ins and pans at city focus: (what, lat, lon, zoom, level drawn by tile). The first places are
# the densest parts of the city core; pans move by about two thirds of a screen.
MOVES = [("zoom in to communities", 30.655, 104.06, 13.0, "community"),
         ("zoom in to general grids", 30.64, 104.05, 15.5, "general_grid"),
         ("pan (general grids)", 30.64, 104.085, 15.5, "general_grid"),
         ("zoom in to micro-grids", 30.645, 104.07, 17.0, "micro_grid"),
         ("pan east (micro-grids)", 30.645, 104.079, 17.0, "micro_grid"),
         ("pan south (micro-grids)", 30.638, 104.079, 17.0, "micro_grid"),
         ("pan west (micro-grids)", 30.638, 104.07, 17.0, "micro_grid"),
         ("zoom in (micro-grids)", 30.638, 104.07, 18.0, "micro_grid"),
         ("jump across town (micro-grids)", 30.69, 104.10, 17.0, "micro_grid"),
         ("zoom out to the city", 30.66, 104.06, 10.0, None)]


class Wire:
    """Bytes a page received over the wire since the last reset, split into map data and the rest."""

    def __init__(self, page):
        self.map_bytes = self.other_bytes = self.tiles = 0
        page.on("requestfinished", self._finished)

    def _finished(self, request):
        try:
            size = request.sizes()["responseBodySize"] + request.sizes()["responseHeadersSize"]
        except Exception:  # noqa: BLE001 - a request torn down with its page has no sizes
            return
        if any(part in request.url for part in MAP_DATA):
            self.map_bytes += size
            self.tiles += bool(TILE_URL.search(request.url))
        else:
            self.other_bytes += size

    def reset(self) -> None:
        self.map_bytes = self.other_bytes = self.tiles = 0


def _expected_codes(engine, level: str, bounds: list[float], indexes: dict) -> set[str]:
    """Codes the fine layer must draw for a view (the tiles whose areas reach into it)."""
    from governance.core.tiling import build_index

    if level not in indexes:
        with engine.connect() as conn:
            indexes[level] = build_index(conn, level)
    index = indexes[level]
    return {c for t in index.view_tiles(tuple(bounds)) for c in index.in_tile(*t, "/")}


def _settle(page, wire: Wire, quiet_ms: int = 600) -> None:
    """Wait until no map data arrived for `quiet_ms`."""
    last, seen = time.perf_counter(), (wire.map_bytes, wire.other_bytes)
    while time.perf_counter() - last < quiet_ms / 1000:
        page.wait_for_timeout(100)
        now = (wire.map_bytes, wire.other_bytes)
        if now != seen:
            seen, last = now, time.perf_counter()


def naive_bytes(engine) -> int:
    """Bytes of every micro-grid of the world as one inline GeoJSON (what `bench.naive_app` ships for a
    sub-district, here for the whole city): the payload a map without levels or tiles would send."""
    import orjson

    total = len('{"type":"FeatureCollection","features":[]}')
    with engine.connect() as conn:
        for n, (code, name, geometry) in enumerate(conn.execute(text(
                "SELECT code, name, geometry FROM area WHERE level='micro_grid'"))):
            total += len(orjson.dumps({"type": "Feature", "id": code, "properties": {"code": code, "name": name,
                                                                                     "open": 0},
                                       "geometry": orjson.loads(geometry)})) + (1 if n else 0)
    return total


def measure(engine, url: str, runs: int, shots: str) -> dict:
    """Start the cockpit on `url` and measure it as a wall device on the city."""
    from playwright.sync_api import sync_playwright

    with engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
        count = lambda level, path: conn.execute(text(  # noqa: E731
            "SELECT COUNT(*) FROM area WHERE level=:l AND path LIKE :p"), {"l": level, "p": path + "%"}).scalar()
        path_of = lambda code: conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": code}).scalar()  # noqa: E731
        n_micro = count("micro_grid", "/")
        district = "510107"
        sub = conn.execute(text("SELECT code FROM area WHERE level='subdistrict' AND path LIKE :p ORDER BY code"),
                           {"p": path_of(district) + "%"}).scalars().first()
        comm = conn.execute(text("SELECT code FROM area WHERE level='community' AND path LIKE :p ORDER BY code"),
                            {"p": path_of(sub) + "%"}).scalars().first()
        levels = [("district", district, "subdistrict", count("subdistrict", path_of(district))),
                  ("sub-district", sub, "community", count("community", path_of(sub))),
                  ("community", comm, "general_grid", count("general_grid", path_of(comm))),
                  ("back to the city", focus, "district", count("district", path_of(focus)))]
    port = free_port()
    proc = _start([sys.executable, "app.py", "web", "--port", str(port)],
                  {"DATABASE_URL": url, "COCKPIT_SECRET_KEY": SECRET})
    res: dict = {"micro_grids": n_micro, "first_render_s": [], "levels": [], "moves": [],
                 "naive_all_micro_grids_bytes": naive_bytes(engine)}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/", proc, timeout=120)
        cookies = wall_cookies(engine, base)
        ready = READY.format(level="district", n=levels[-1][3])
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def fresh_page():
                ctx = browser.new_context(viewport=VIEWPORT, bypass_csp=True)  # lets the waits evaluate
                ctx.add_cookies(cookies)
                page = ctx.new_page()
                return ctx, page, Wire(page)

            ctx, page, wire = fresh_page()  # the first visit also warms the server's caches
            with timer() as cold:
                page.goto(base + "/", wait_until="commit")
                page.wait_for_function(ready, timeout=180_000, polling=20)
            res["cold_first_render_s"] = cold()
            page.wait_for_timeout(15_000)  # background warm-up of the finer levels' figures
            ctx.close()
            for _ in range(runs):
                ctx, page, wire = fresh_page()
                with timer() as t:
                    page.goto(base + "/", wait_until="commit")
                    page.wait_for_function(ready, timeout=60_000, polling=20)
                res["first_render_s"].append(t())
                page.wait_for_function("document.querySelector('.js-plotly-plot') && performance.getEntriesByType("
                                       "'resource').some(e => e.name.includes('/api/v1/warnings/'))",
                                       timeout=60_000)  # charts and warning points come last
                _settle(page, wire)
                res["first_view_map_bytes"] = wire.map_bytes
                res["first_view_page_bytes"] = wire.map_bytes + wire.other_bytes
                ctx.close()

            ctx, page, wire = fresh_page()
            page.goto(base + "/", wait_until="commit")
            page.wait_for_function(ready, timeout=60_000, polling=20)
            _settle(page, wire, 1500)
            page.screenshot(path=f"{shots}-city.png")
            for name, code, level, n in levels:
                wire.reset()
                page.evaluate("window.gridCockpit.drawn = {}")
                with timer() as t:
                    page.evaluate(f"window.location.hash = 'area={code}&markers=0'")
                    page.wait_for_function(f"window.gridCockpit.drawn.{level} && window.gridCockpit.drawn.{level}.size >= {n}",
                                           timeout=60_000, polling=20)
                took = t()
                _settle(page, wire)
                res["levels"].append({"view": name, "code": code, "areas": n, "level": level, "s": took,
                                      "map_bytes": wire.map_bytes})
            page.evaluate(f"window.location.hash = 'area={focus}&markers=0'")
            page.wait_for_function(ready, timeout=60_000, polling=20)
            page.wait_for_timeout(1500)
            indexes: dict = {}
            for level in {m[4] for m in MOVES if m[4]}:  # the bench's own index, built before any timing
                _expected_codes(engine, level, [0.0, 0.0, 0.0, 0.0], indexes)
            for name, lat, lon, zoom, level in MOVES:
                wire.reset()
                page.evaluate("window.gridCockpit.drawn = {}")
                with timer() as t:
                    page.evaluate(f"window.gridCockpit.leafletMap().setView([{lat}, {lon}], {zoom}, {{animate: false}}); null")
                    n = 0
                    if level:
                        b = page.evaluate("(() => {const b = window.gridCockpit.leafletMap().getBounds();"
                                          " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];})()")
                        want = sorted(_expected_codes(engine, level, b, indexes))
                        n = len(want)
                        page.wait_for_function(f"(() => {{const d = window.gridCockpit.drawn.tile_{level};"
                                               f" return d && d.size >= {n};}})()", timeout=60_000, polling=20)
                took = t()
                _settle(page, wire)
                res["moves"].append({"move": name, "zoom": zoom, "level": level, "areas": n, "s": took,
                                     "map_bytes": wire.map_bytes, "tiles": wire.tiles})
                if name == "zoom in to micro-grids":
                    page.screenshot(path=f"{shots}-micro.png")
                if name == "zoom in to general grids":
                    page.screenshot(path=f"{shots}-general.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    loads = [m["s"] for m in res["moves"] if m["level"]]
    res["pan_zoom_s_p50"], res["pan_zoom_s_max"] = statistics.median(loads), max(loads)
    res["first_render_s_median"] = statistics.median(res["first_render_s"])
    res["max_view_map_bytes"] = max([res["first_view_map_bytes"]] + [v["map_bytes"] for v in res["levels"]]
                                    + [m["map_bytes"] for m in res["moves"]])
    return res


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB"


def report(kind: str, r: dict) -> None:
    """Print one database's tables."""
    ok = lambda good: "✓" if good else "✗"  # noqa: E731
    print_table(f"City map on {kind}: {r['micro_grids']:,} micro-grids, headless Chromium 1920×1080, wall device",
                ["measure", "value", "target", ""], [
                    ["first render, city (server warm; median of runs)", f"{r['first_render_s_median']:.2f} s", "≤ 2 s",
                     ok(r["first_render_s_median"] <= TARGETS["first_render_s"])],
                    ["first render, city, cold server", f"{r['cold_first_render_s']:.2f} s", "", ""],
                    ["first view: map data", _kb(r["first_view_map_bytes"]), "≤ 3 MB",
                     ok(r["first_view_map_bytes"] <= TARGETS["view_bytes"])],
                    ["first view: whole page incl. scripts (first visit)", _kb(r["first_view_page_bytes"]), "", ""],
                    ["pan/zoom load p50 / max", f"{r['pan_zoom_s_p50']:.2f} / {r['pan_zoom_s_max']:.2f} s", "≤ 1 s",
                     ok(r["pan_zoom_s_max"] <= TARGETS["pan_zoom_s"])],
                    ["largest view (map data)", _kb(r["max_view_map_bytes"]), "≤ 3 MB",
                     ok(r["max_view_map_bytes"] <= TARGETS["view_bytes"])],
                    ["naive: every micro-grid inline (GeoJSON)", _kb(r["naive_all_micro_grids_bytes"]), "", ""],
                    ["largest view vs naive", f"{r['naive_all_micro_grids_bytes'] / r['max_view_map_bytes']:,.0f}× "
                     "smaller", "", ""]])
    print_table(f"Drill levels on {kind} (hash change → all polygons drawn)", ["view", "areas", "time", "map data"],
                [[v["view"], f"{v['areas']:,} {v['level']}", f"{v['s']:.2f} s", _kb(v["map_bytes"])]
                 for v in r["levels"]])
    print_table(f"Zoom and pan at city focus on {kind} (move → every area of the view's tiles drawn)",
                ["move", "zoom", "areas drawn", "tiles", "time", "map data"],
                [[m["move"], f"{m['zoom']:g}", f"{m['areas']:,} {m['level'] or ''}", m["tiles"], f"{m['s']:.2f} s",
                  _kb(m["map_bytes"])] for m in r["moves"]])


def main(argv=None) -> dict:
    """Command line entry: prints the tables, writes bench/results/citymap.json and screenshots."""
    from .pg import bench_databases

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "gridcockpit-city.sqlite3")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    results = {}
    with timer() as seeding:
        ctx = bench_databases(args.databases.split(","), args.db, scale="city")
        engines = ctx.__enter__()
    print(f"worlds ready in {seeding():.0f} s (seeded now or reused)")
    try:
        for kind, engine in engines.items():
            results[kind] = measure(engine, str(engine.url.render_as_string(hide_password=False)), args.runs,
                                    str(RESULTS / f"citymap-{kind}"))
            report(kind, results[kind])
    finally:
        ctx.__exit__(None, None, None)
    print(f"results: {write_results('citymap', results)}")
    return results


if __name__ == "__main__":
    main()
