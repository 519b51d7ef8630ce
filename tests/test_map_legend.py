"""The map tells the truth: fixed class breaks, colours apart from the warning palette and the dark
background, classes that separate the demo world's communities, the value on hover, names on the map,
warning points off unless asked for."""
from __future__ import annotations

import bisect
import json
import math
import random

import pytest
from sqlalchemy import text

from dashboard.view_state import ViewState, parse_search
from governance.reports.area_stats import METRICS, child_figures
from governance.alerts.warnings import load_rules
from layers.grid_choropleth import (BACKGROUND, MISSING_COLOR, SCALES, choropleth_hideout, choropleth_scale,
                                    class_labels, legend_items)

from .conftest import WORLD_NOW, screenshot
from .test_kpis import FOCUS

LEVELS = ("district", "subdistrict", "community", "general_grid", "micro_grid")
PERIODS = ("today", "week", "month", "year")
WARNING_COLORS = load_rules().colors


# Colour arithmetic written out here (sRGB → relative luminance, CIELAB), independent of the layer module.
def _linear(hex_color: str) -> list[float]:
    h = hex_color.lstrip("#")
    out = []
    for i in (0, 2, 4):
        c = int(h[i:i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return out


def luminance(hex_color: str) -> float:
    r, g, b = _linear(hex_color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def lab(hex_color: str) -> tuple[float, float, float]:
    r, g, b = _linear(hex_color)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a: str, b: str) -> float:
    return math.dist(lab(a), lab(b))


def all_scales():
    for metric in SCALES:
        for level in LEVELS:
            for period in PERIODS:
                yield metric, level, period, choropleth_scale(metric, (), WARNING_COLORS, level, period)


def class_of(scale: dict, value: float) -> int:
    return bisect.bisect_right(scale["classes"], value) - 1


def test_every_numeric_metric_has_a_fixed_scale_and_warning_keeps_its_colours():
    assert set(SCALES) == set(METRICS) - {"warning"}
    warning = choropleth_hideout("warning", {"a": "red"}, WARNING_COLORS)
    assert warning["mode"] == "category" and warning["colors"] == WARNING_COLORS


@pytest.mark.parametrize("metric", sorted(SCALES))
@pytest.mark.parametrize("level", LEVELS)
def test_breaks_do_not_move_with_the_values(metric, level):
    rng = random.Random(17)
    low = {f"a{i}": rng.uniform(0, 86) for i in range(40)}
    high = {f"a{i}": rng.uniform(0, 9300) for i in range(40)}
    one, other = (choropleth_hideout(metric, v, WARNING_COLORS, level=level, period="year") for v in (low, high))
    assert (one["classes"], one["colors"]) == (other["classes"], other["colors"])
    assert one["classes"] == sorted(set(one["classes"])) and len(one["colors"]) == len(one["classes"])
    # the same value gets the same colour from the fine tiles' scale as from the choropleth's
    assert choropleth_scale(metric, low.values(), WARNING_COLORS, level, "year")["classes"] == one["classes"]


def test_class_colours_stand_apart_from_warnings_and_the_background():
    for metric, level, period, scale in all_scales():
        colors = scale["colors"]
        assert len(set(colors)) == len(colors), (metric, level)
        for color in colors:
            assert contrast(color, BACKGROUND) >= 2.0, (metric, level, color)
            assert delta_e(color, MISSING_COLOR) >= 20, (metric, color)  # "无数据" is not a class
            for name, warn in WARNING_COLORS.items():
                assert delta_e(color, warn) >= 20, (metric, level, color, name, warn)
        for a, b in zip(colors, colors[1:]):
            assert delta_e(a, b) >= 10, (metric, level, a, b)  # neighbouring classes tell apart


def test_ramps_are_ordered_by_lightness_so_they_read_without_colour_vision():
    for metric, level, period, scale in all_scales():
        light = [lab(c)[0] for c in scale["colors"]]
        target = SCALES[metric].target
        if target is None:  # counts: more is lighter
            assert light == sorted(light) and len(set(light)) == len(light), (metric, level, light)
        else:  # higher is better: lightest next to the target, darker (stronger) away from it on both sides
            below = sum(1 for low in scale["classes"] if low < target)
            assert light[:below] == sorted(light[:below]), (metric, level, light)
            assert light[below:] == sorted(light[below:], reverse=True), (metric, level, light)
            assert below >= 2 and len(light) - below >= 2


def test_class_labels_are_ranges():
    assert class_labels([0, 1, 5, 10], whole=True) == ["0", "1–4", "5–9", "≥10"]
    assert class_labels([0, 25, 50], whole=True) == ["0–24", "25–49", "≥50"]
    assert class_labels([0, 70, 80, 85], whole=False) == ["<70", "70–80", "80–85", "≥85"]
    assert class_labels([0, 0.5, 1], whole=False) == ["<0.5", "0.5–1", "≥1"]


def _legend_rows(items) -> list[tuple[str, str]]:
    return [(row.style["--swatch"], row.children) for row in items[1:]]


def test_legend_shows_every_class_with_its_range_and_no_data():
    hideout = choropleth_hideout("closure", {"a": 91.0}, WARNING_COLORS, level="community", period="year")
    items = legend_items("closure", hideout)
    assert items[0].children.startswith("办结率（%）")
    rows = _legend_rows(items)
    assert [label for _c, label in rows] == ["≥95", "92–95", "90–92", "88–90", "85–88", "80–85", "70–80", "<70",
                                             "样本不足（受理不足20件）"]
    assert [c for c, _l in rows[:-1]] == hideout["colors"][::-1] and rows[-1][0] == MISSING_COLOR
    counts = _legend_rows(legend_items("open", choropleth_hideout("open", {}, WARNING_COLORS, "general_grid")))
    assert [label for _c, label in counts] == ["≥40", "20–39", "10–19", "5–9", "1–4", "0", "无数据"]
    tiles = legend_items("per100", choropleth_scale("per100", (), WARNING_COLORS, "micro_grid", "month"), "微网格")
    assert tiles[0].children == "期内每百户事件数（件/百户） · 微网格"


@pytest.mark.parametrize("period", ["year", "month"])
def test_closure_classes_separate_the_demo_communities(world_engine, period):
    with world_engine.connect() as conn:
        figures = child_figures(conn, FOCUS, "community", period, WORLD_NOW, load_rules())
        comm = sorted(figures)[0]
        comm_path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": comm}).scalar()
        grids = child_figures(conn, comm_path, "general_grid", "year", WORLD_NOW, load_rules())
    rates = [f.closure for f in figures.values() if f.closure is not None]
    assert len(rates) >= 20
    scale = choropleth_scale("closure", (), WARNING_COLORS, "community", period)
    assert len({class_of(scale, r) for r in rates}) >= 3, sorted(rates)
    grid_rates = [f.closure for f in grids.values() if f.closure is not None]
    grid_scale = choropleth_scale("closure", (), WARNING_COLORS, "general_grid", "year")
    assert len({class_of(grid_scale, r) for r in grid_rates}) >= min(3, len(grid_rates)), grid_rates


def test_open_events_classes_separate_the_demo_areas(world_engine):
    with world_engine.connect() as conn:
        for level in ("community", "general_grid", "micro_grid"):
            figures = child_figures(conn, FOCUS, level, "year", WORLD_NOW, load_rules())
            scale = choropleth_scale("open", (), WARNING_COLORS, level, "year")
            used = {class_of(scale, f.open) for f in figures.values()}
            assert len(used) >= 4, (level, used)


def test_warning_points_are_off_unless_the_link_asks():
    assert ViewState().markers is False
    assert parse_search("?area=510107001").markers is False
    assert parse_search("?area=510107001&markers=0").markers is False  # old links
    on = parse_search("?area=510107001&markers=1")
    assert on.markers is True and "markers=1" in on.to_search()
    assert "markers" not in ViewState(area="510107001").to_search()
    assert parse_search(on.to_hash()) == on


@pytest.mark.browser
def test_hover_shows_name_and_value_and_names_are_on_the_map(world_engine, live_server, page_factory):
    from bench.render import clickable_point

    page = page_factory(1920, 1080, user="leader")
    page.goto(live_server + "/")
    page.wait_for_function("window.gridCockpit && window.gridCockpit.drawn.community"
                           " && document.querySelectorAll('.area-label').length > 0", timeout=30000)
    page.wait_for_timeout(800)
    assert not page.is_checked("#map-overlays input[value=markers]")
    assert not any("/api/v1/warnings/" in u for u in page.requests)  # no warning points by default

    with world_engine.connect() as conn:
        figures = child_figures(conn, FOCUS, "community", "year", WORLD_NOW, load_rules())
        geoms = dict(conn.execute(text("SELECT code, geometry FROM area WHERE level='community' AND path LIKE :p"),
                                  {"p": FOCUS + "%"}).all())
    labels = page.evaluate("[...document.querySelectorAll('.area-label')]"
                           ".filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.innerText)")
    names = {f.name for f in figures.values()}
    assert len(labels) >= len(names) // 2 and set(labels) <= names, labels

    hovered = 0
    for code in sorted(figures, key=lambda c: -figures[c].open)[:3]:
        pos = clickable_point(page, code, geoms[code])
        if not pos:
            continue
        page.mouse.move(pos["x"] - 6, pos["y"] - 4)
        page.mouse.move(pos["x"], pos["y"], steps=4)
        page.wait_for_selector(".grid-tooltip", timeout=5000)
        want = f"{figures[code].name}：{figures[code].open:,}（件）"
        page.wait_for_function(f"[...document.querySelectorAll('.grid-tooltip')].some(e => e.innerText === {json.dumps(want)})",
                               timeout=5000)
        hovered += 1
    assert hovered >= 2
    legend = page.inner_text("#map-legend")
    assert "在办事件数（件）" in legend and "无数据" in legend and "100–199" in legend
    screenshot(page, "map-legend")
