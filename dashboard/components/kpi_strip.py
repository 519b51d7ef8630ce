"""The KPI strip: one card per KPI, value formatted, definition on hover."""
from __future__ import annotations

from dash import html

from governance.figures.kpis import DEFINITIONS, KPI_MIN_SAMPLE, KpiSnapshot, kpi_text

# (key, label, kind) in display order; kind decides formatting and colour rules.
KPI_CARDS = [
    ("closure_rate", "办结率", "rate"),
    ("on_time_rate", "按期办结率", "rate"),
    ("satisfaction_rate", "满意率", "rate"),
    ("new_today", "今日新增", "count"),
    ("closed_today", "今日办结", "count"),
    ("open_count", "在办", "count"),
    ("overdue", "超期", "alert"),
    ("cases_yoy", "诉求同比", "change"),
]


def kpi_values(snapshot: KpiSnapshot) -> dict[str, str]:
    """Return the formatted value of every KPI card, keyed like KPI_CARDS (样本不足 for a rate on
    fewer events than its minimum, governance.figures.kpis.KPI_MIN_SAMPLE)."""
    return {key: kpi_text(snapshot, key, kind) for key, _, kind in KPI_CARDS}


def kpi_title(snapshot: KpiSnapshot, key: str) -> str:
    """A card's hover text: the definition, and why no percentage is shown when the sample is too small."""
    if not snapshot.too_few(key):
        return DEFINITIONS[key]
    what = "两年中较少一年的诉求" if key == "cases_yoy" else "计算所依据的事件"
    return f"{DEFINITIONS[key]}\n{what}仅 {snapshot.sample(key)} 件，少于 {KPI_MIN_SAMPLE[key]} 件，不计算比率"


def kpi_strip(snapshot: KpiSnapshot) -> list[html.Div]:
    """Build the KPI cards for a snapshot."""
    values = kpi_values(snapshot)
    cards = []
    for key, label, kind in KPI_CARDS:
        classes = f"kpi-card kpi-{kind}"
        if kind == "alert" and snapshot.overdue:
            classes += " kpi-hot"
        if snapshot.too_few(key):
            classes += " kpi-sparse"
        # the label is the card's own text (one component fewer per card for Dash's renderer to build)
        cards.append(html.Div(className=classes, title=kpi_title(snapshot, key), id=f"kpi-{key}", children=[
            label, html.Div(values[key], className="kpi-value", **{"data-kpi": key}),
        ]))
    return cards
