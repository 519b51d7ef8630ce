"""The KPI strip: one card per KPI, value formatted, definition on hover."""
from __future__ import annotations

from dash import html

from governance.kpis import DEFINITIONS, KpiSnapshot

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


def format_kpi(value: float | int | None, kind: str) -> str:
    """Format a KPI value for display: rates with one decimal and %, counts with separators."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1f}%"
    if kind == "change":
        return f"{value:+.1f}%"
    return f"{int(value):,}"


def kpi_values(snapshot: KpiSnapshot) -> dict[str, str]:
    """Return the formatted value of every KPI card, keyed like KPI_CARDS."""
    return {key: format_kpi(getattr(snapshot, key), kind) for key, _, kind in KPI_CARDS}


def kpi_strip(snapshot: KpiSnapshot) -> list[html.Div]:
    """Build the KPI cards for a snapshot."""
    values = kpi_values(snapshot)
    cards = []
    for key, label, kind in KPI_CARDS:
        classes = f"kpi-card kpi-{kind}"
        if kind == "alert" and snapshot.overdue:
            classes += " kpi-hot"
        cards.append(html.Div(className=classes, title=DEFINITIONS[key], id=f"kpi-{key}", children=[
            html.Div(label, className="kpi-label"),
            html.Div(values[key], className="kpi-value", **{"data-kpi": key}),
        ]))
    return cards
