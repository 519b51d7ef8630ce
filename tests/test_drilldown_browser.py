"""Drill-down in the browser: exactly the clicked area's children, breadcrumb back, live refresh."""
import json
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import text

from data_sources.base import RawRecord
from data_sources.pipeline import ingest_records
from data_sources.push import PushSource

from .conftest import WORLD_NOW, screenshot
from .test_kpis import FOCUS

pytestmark = pytest.mark.browser
DRAWN = "Object.fromEntries(Object.entries(window.gridCockpit.drawn).map(([k, v]) => [k, [...v]]))"


def children(engine, parent_code, level):
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": parent_code}).scalar()
        return {r[0] for r in conn.execute(text("SELECT code FROM area WHERE level=:l AND path LIKE :p"),
                                           {"l": level, "p": path + "%"})}


def inner_point(engine, code):
    with engine.connect() as conn:
        geom = conn.execute(text("SELECT geometry FROM area WHERE code=:c"), {"c": code}).scalar()
    p = shapely.from_geojson(geom).representative_point()
    return p.y, p.x


def click_area(page, engine, code):
    from bench.render import clickable_point

    with engine.connect() as conn:
        geom = conn.execute(text("SELECT geometry FROM area WHERE code=:c"), {"c": code}).scalar()
    page.wait_for_timeout(700)  # let the fly-to animation settle
    pos = clickable_point(page, code, geom)
    assert pos, f"{code} is not drawn or is covered"
    page.evaluate("window.gridCockpit.drawn = {}")
    page.mouse.click(pos["x"], pos["y"])


def wait_drawn(page, level):
    page.wait_for_function(f"window.gridCockpit.drawn[{json.dumps(level)}] && "
                           f"window.gridCockpit.drawn[{json.dumps(level)}].size > 0", timeout=20000)
    page.wait_for_timeout(300)
    return set(page.evaluate(DRAWN)[level])


def test_drill_down_shows_exactly_the_children_and_breadcrumb_goes_back(world_engine, live_server,
                                                                        page_factory):
    page = page_factory(1920, 1080)
    page.goto(live_server + "/?markers=0")  # points would sit on top of the polygons we click
    focus = FOCUS.strip("/").split("/")[-1]
    assert wait_drawn(page, "community") == children(world_engine, focus, "community")
    community = sorted(children(world_engine, focus, "community"))[3]

    click_area(page, world_engine, community)
    assert wait_drawn(page, "general_grid") == children(world_engine, community, "general_grid")
    assert f"area={community}" in page.url
    screenshot(page, "drill-community")

    general = sorted(children(world_engine, community, "general_grid"))[0]
    click_area(page, world_engine, general)
    assert wait_drawn(page, "micro_grid") == children(world_engine, general, "micro_grid")
    crumbs = page.locator("#breadcrumb").inner_text()
    assert "机投桥街道" in crumbs

    page.evaluate("window.gridCockpit.drawn = {}")
    page.click(f"#breadcrumb a.crumb-{focus}")
    assert wait_drawn(page, "community") == children(world_engine, focus, "community")


def test_url_is_a_bookmark_and_refresh_keeps_the_view(world_engine, live_server, page_factory):
    focus = FOCUS.strip("/").split("/")[-1]
    community = sorted(children(world_engine, focus, "community"))[5]
    page = page_factory(1366, 768)
    # Without the change stream the refresh timer ticks every 2 s (with it, it rests: changes are pushed).
    page.route("**/api/v1/changes*", lambda route: route.abort())
    sizes = []
    page.on("response", lambda r: sizes.append(len(r.body())) if "_dash-update-component" in r.url else None)
    page.goto(f"{live_server}/?area={community}&metric=closure&period=month")
    assert wait_drawn(page, "general_grid") == children(world_engine, community, "general_grid")
    assert page.is_checked("#map-metric input[value=closure]")
    page.wait_for_selector("#trend-row .js-plotly-plot")
    page.wait_for_timeout(1000)
    sizes.clear()
    page.wait_for_timeout(5000)  # two idle refreshes: only the clock changes
    assert len(sizes) >= 2 and max(sizes) <= 2048, sizes

    before = page.inner_text("[data-kpi=new_today]")
    micro = sorted(children(world_engine, community, "micro_grid"))[0]
    lat, lon = inner_point(world_engine, micro)
    stats = ingest_records(world_engine, PushSource(), [RawRecord(
        {"source_key": "REFRESH-1", "category": "楼道堆物", "lon": lon, "lat": lat,
         "reported_at": (WORLD_NOW - timedelta(minutes=5)).isoformat() + "+00:00"}, "")], now=WORLD_NOW)
    assert stats.inserted == 1
    expected = f"{int(before.replace(',', '')) + 1:,}"
    page.wait_for_function(f"document.querySelector('[data-kpi=new_today]').innerText === '{expected}'",
                           timeout=30000)
    assert f"area={community}" in page.url and "metric=closure" in page.url
    assert community in page.locator("#breadcrumb").inner_html() or page.locator(".crumb.current").count() == 1
    screenshot(page, "laptop-1366-refreshed")
