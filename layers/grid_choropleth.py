"""Choropleth of grid areas, styled from `hideout` so refreshes never resend geometry.

Colours follow what a metric means: the warning metric keeps the warning colours; counts get a
sequential purple ramp (more = lighter); rates where higher is better diverge around a target
(magenta below, green at or above). Class breaks are fixed per metric and map level (per period for
figures that grow with the period), never derived from the values of a refresh, so a value keeps its
colour from one refresh, area or day to the next. The map's background is ~#060b18: every class colour
stands clear of it and of the warning colours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import dash_leaflet as dl
from dash import html

from governance.reports.area_stats import MIN_SAMPLE
from governance.alerts.warnings import LABELS as WARNING_LABELS
from governance.alerts.warnings import LEVELS as WARNING_LEVELS

from . import MAP_JS

BACKGROUND = "#060b18"  # the map panel under the polygons (assets/cockpit.css --bg)
MISSING_COLOR = "#394150"  # no value: a neutral slate, apart from every class colour
MISSING_LABEL = "无数据"

# Sequential ramp for counts (CIE L* 34 → 89 at a purple hue): lightness alone orders it, so it reads
# with any colour vision; the darkest class still has 2.4:1 contrast to the background.
COUNT_COLORS = ("#3d489c", "#6561b5", "#8a7bcb", "#ad98df", "#cdb7ed", "#ead9fa")
# Rates where higher is better, diverging around a target (in the manner of ColorBrewer PiYG):
# below it magenta, strongest for the worst class; at or above it green, strongest for the best.
BELOW_TARGET = ("#b4197c", "#cf4a98", "#e07bb5", "#eba6cd", "#f5d0e4")  # worst first
AT_TARGET = ("#d2ecc4", "#9fd488", "#5fae55")  # just at the target first

# Lower bounds of the classes. Open events accumulate with the size of the area: per map level.
OPEN_BREAKS = {
    "district": (0, 1000, 2000, 5000, 10000, 20000),
    "subdistrict": (0, 200, 500, 1000, 2000, 5000),
    "community": (0, 25, 50, 100, 200, 400),
    "general_grid": (0, 1, 5, 10, 20, 40),
    "micro_grid": (0, 1, 2, 5, 10, 20),
}
# Events per 100 households is a density (alike at every level) that grows with the period's length.
PER100_BREAKS = {
    "year": (0, 5, 10, 20, 50, 100),
    "month": (0, 0.5, 1, 2, 5, 10),
    "week": (0, 0.1, 0.2, 0.5, 1, 2),
    "today": (0, 0.02, 0.05, 0.1, 0.2, 0.5),
}
# Rates (higher is better, target 90%): an aggregate of many events varies by a few points only, so
# communities and above get finer classes around the target than a grid with a few dozen events.
RATE_TARGET = 90.0
RATE_BREAKS = {
    "district": (0, 70, 80, 85, 88, 90, 92, 95),
    "subdistrict": (0, 70, 80, 85, 88, 90, 92, 95),
    "community": (0, 70, 80, 85, 88, 90, 92, 95),
    "general_grid": (0, 60, 70, 80, 85, 90, 95),
    "micro_grid": (0, 60, 70, 80, 85, 90, 95),
}
LEVEL_FALLBACK = {"city": "district", "dedicated_grid": "micro_grid"}
DEFAULT_LEVEL, DEFAULT_PERIOD = "community", "year"


@dataclass(frozen=True)
class MetricScale:
    """How a numeric map metric is classed, coloured and written."""

    title: str  # legend title
    unit: str  # in tooltips: 名称：值（单位）
    breaks: dict = field(repr=False)  # map level (or period, see `by`) → class lower bounds
    by: str = "level"  # what the breaks depend on: "level" or "period"
    digits: int = 0  # decimals shown
    whole: bool = True  # whole numbers: classes read 0–24, 25–49 … instead of <25, 25–50 …
    target: float | None = None  # higher is better: colours diverge around this value
    missing: str = MISSING_LABEL  # what an area without a value shows
    small: int | None = None  # counts of people: values above 0 and below this are written "<small"

    def classes(self, level: str | None, period: str | None) -> tuple:
        """The fixed class lower bounds at a map level and period."""
        if self.by == "period":
            return self.breaks.get(period or DEFAULT_PERIOD, self.breaks[DEFAULT_PERIOD])
        level = LEVEL_FALLBACK.get(level, level)
        return self.breaks.get(level or DEFAULT_LEVEL, self.breaks[DEFAULT_LEVEL])

    def colors(self, classes) -> list[str]:
        """One colour per class."""
        if self.target is None:
            return _spread(COUNT_COLORS, len(classes))
        below = sum(1 for low in classes if low < self.target)
        return _spread(BELOW_TARGET, below) + _spread(AT_TARGET, len(classes) - below)


# Every numeric metric of governance.reports.area_stats.METRICS ("warning" is categorical).
SCALES = {
    "open": MetricScale("在办事件数", "件", OPEN_BREAKS),
    "per100": MetricScale("期内每百户事件数", "件/百户", PER100_BREAKS, by="period", digits=1, whole=False),
    "closure": MetricScale("办结率", "%", RATE_BREAKS, digits=1, whole=False, target=RATE_TARGET,
                           missing=f"样本不足（受理不足{MIN_SAMPLE}件）"),
}
# People registry counts (#19): per level, like open events; small counts are written "<3".
RESIDENT_BREAKS = {"district": (0, 50000, 100000, 200000, 400000, 800000),
                   "subdistrict": (0, 20000, 50000, 100000, 150000, 200000),
                   "community": (0, 5000, 10000, 15000, 20000, 30000),
                   "general_grid": (0, 200, 500, 1000, 2000, 4000), "micro_grid": (0, 50, 100, 200, 300, 500)}
HOUSEHOLD_BREAKS = {"district": (0, 20000, 40000, 80000, 150000, 300000),
                    "subdistrict": (0, 5000, 10000, 20000, 50000, 80000),
                    "community": (0, 2000, 4000, 6000, 8000, 12000),
                    "general_grid": (0, 100, 200, 400, 800, 1500), "micro_grid": (0, 20, 40, 60, 80, 100)}
SPECIAL_BREAKS = {"district": (0, 2000, 5000, 10000, 20000, 40000), "subdistrict": (0, 1000, 2000, 5000, 10000, 15000),
                  "community": (0, 200, 500, 800, 1200, 2000), "general_grid": (0, 10, 30, 60, 100, 200),
                  "micro_grid": (0, 1, 3, 5, 10, 20)}
PLACE_BREAKS = {"district": (0, 1000, 2500, 5000, 10000, 20000), "subdistrict": (0, 500, 1000, 2500, 5000, 8000),
                "community": (0, 100, 200, 400, 600, 1000), "general_grid": (0, 5, 10, 20, 50, 100),
                "micro_grid": (0, 1, 3, 5, 8, 12)}
SCALES.update({
    "residents": MetricScale("常住人口", "人", RESIDENT_BREAKS, small=3),
    "households": MetricScale("户数", "户", HOUSEHOLD_BREAKS, small=3),
    "special": MetricScale("特殊人群", "人", SPECIAL_BREAKS, small=3),
    "rentals": MetricScale("出租房", "套", PLACE_BREAKS, small=3),
    "premises": MetricScale("经营场所", "家", PLACE_BREAKS, small=3),
})
METRIC_TITLES = {"warning": "预警等级", **{k: s.title for k, s in SCALES.items()}}


def _spread(colors, n: int) -> list[str]:
    """n colours spread evenly over a ramp, ends included (fewer classes keep the extremes)."""
    if n <= 1:
        return list(colors[-1:]) if n == 1 else []
    if n >= len(colors):
        return list(colors)
    return [colors[round(i * (len(colors) - 1) / (n - 1))] for i in range(n)]


def _num(x: float) -> str:
    return f"{x:g}"


def class_labels(classes, whole: bool = True) -> list[str]:
    """Labels of class ranges: whole numbers ['0', '1–4', …, '≥40'], else ['<70', '70–80', …, '≥95']."""
    labels = []
    for i, low in enumerate(classes):
        nxt = classes[i + 1] if i + 1 < len(classes) else None
        if nxt is None:
            labels.append(f"≥{_num(low)}")
        elif whole:
            labels.append(_num(low) if nxt - 1 <= low else f"{_num(low)}–{_num(nxt - 1)}")
        elif i == 0 and low == 0:
            labels.append(f"<{_num(nxt)}")
        else:
            labels.append(f"{_num(low)}–{_num(nxt)}")
    return labels


def choropleth_scale(metric: str, values=(), colors: dict | None = None, level: str | None = None,
                     period: str | None = None) -> dict:
    """The colour scale of a metric at a map level and period, as a hideout without values.

    `values` is accepted for older callers and ignored: the classes never depend on the data.
    """
    if metric == "warning":
        return {"mode": "category", "colors": colors, "missing": colors["none"], "names": dict(WARNING_LABELS)}
    scale = SCALES[metric]
    classes = list(scale.classes(level, period))
    return {"mode": "classes", "classes": classes, "colors": scale.colors(classes), "missing": MISSING_COLOR,
            "unit": scale.unit, "digits": scale.digits, "missingLabel": scale.missing,
            **({"small": scale.small} if scale.small else {})}


def choropleth_hideout(metric: str, values: dict[str, object], colors: dict | None = None,
                       level: str | None = None, period: str | None = None) -> dict:
    """The hideout a grid layer is styled from: the scale at the map level and period, and the values."""
    scale = choropleth_scale(metric, (), colors, level, period)
    if scale["mode"] == "category":
        return {**scale, "values": values}
    return {**scale, "values": {k: v for k, v in values.items() if v is not None}}


def grid_layer(layer_id: str, url: str, hideout: dict, data: str | None = None) -> dl.GeoJSON:
    """A clickable choropleth layer of the areas served as geobuf at `url`: the value on hover, and the
    names of communities and general grids written on the map where they fit. `data`, the same geobuf in
    base64, draws them without fetching (dash-leaflet prefers it to `url` while it is set)."""
    return dl.GeoJSON(id=layer_id, url=url, format="geobuf", hideout=hideout, data=data,
                      style=MAP_JS("gridStyle"), onEachFeature=MAP_JS("gridFeature"),
                      hoverStyle=MAP_JS("hoverStyle"))


def legend_title(metric: str, hideout: dict) -> str:
    """'办结率（%）· 达标线 90' and the like."""
    scale = SCALES.get(metric)
    if scale is None or hideout.get("mode") == "category":
        return METRIC_TITLES[metric]
    title = f"{scale.title}（{scale.unit}）"
    return title + (f" · 达标线 {_num(scale.target)}" if scale.target is not None else "")


def legend_items(metric: str, hideout: dict, level_name: str | None = None) -> list:
    """Legend rows (swatch + range) for a hideout, ending with 无数据; `level_name` names the areas when
    they are not the choropleth's own (the finer grids drawn by tile)."""
    if hideout["mode"] == "category":
        rows = [(hideout["colors"][lv], WARNING_LABELS[lv]) for lv in reversed(WARNING_LEVELS)]
    else:
        scale = SCALES[metric]
        rows = list(zip(hideout["colors"], class_labels(hideout["classes"], scale.whole)))[::-1]  # highest on top
        rows.append((hideout.get("missing", MISSING_COLOR), scale.missing))
    title = legend_title(metric, hideout) + (f" · {level_name}" if level_name else "")
    # A row is one component, its swatch drawn by cockpit.css from --swatch: every component is work for
    # Dash's renderer on the wall's first render.
    return [html.Div(title, className="map-legend-title"),
            *[html.Div(label, className="map-legend-row", style={"--swatch": color}) for color, label in rows]]
