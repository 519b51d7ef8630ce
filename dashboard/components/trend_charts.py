"""Plotly trend charts for the wall: new vs closed per day, categories, 24-hour rhythm."""
from __future__ import annotations

import plotly.graph_objects as go

from data_sources.registry import SOURCE_ORDER, source_colour, source_short


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 14, "color": "#8aa0c6"}, "x": 0.01, "y": 0.97},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": "#dbe7ff", "size": 11},
        margin={"l": 36, "r": 8, "t": 28, "b": 24}, legend={"orientation": "h", "y": 1.12, "x": 0.3,
                                                           "font": {"size": 10}},
        xaxis={"gridcolor": "#1f3354"}, yaxis={"gridcolor": "#1f3354"}, bargap=0.15)
    return fig


def daily_chart(daily: dict) -> go.Figure:
    """Stacked new events per source per day (names and colours as the feeds declare them), closed as a line."""
    fig = go.Figure()
    order = lambda item: (SOURCE_ORDER.index(item[0]), "") if item[0] in SOURCE_ORDER else (99, item[0])  # noqa: E731
    for source, counts in sorted(daily["new"].items(), key=order):
        fig.add_bar(x=daily["days"], y=counts, name=source_short(source), marker_color=source_colour(source))
    fig.add_scatter(x=daily["days"], y=daily["closed"], name="办结", mode="lines",
                    line={"color": "#ffffff", "width": 2})
    fig.update_layout(barmode="stack", legend_traceorder="normal")  # the legend reads in registry order
    fig = _layout(fig, "近30日 新增（按来源）与办结")
    fig.update_xaxes(type="date", tickformat="%m-%d")
    return fig


def category_chart(categories: list[tuple[str, int]]) -> go.Figure:
    """Horizontal bars of the most frequent categories."""
    names = [c for c, _ in reversed(categories)]
    fig = go.Figure(go.Bar(x=[n for _, n in reversed(categories)], y=names, orientation="h",
                           marker_color="#4895ef"))
    fig = _layout(fig, "事件类别（期内前八）")
    fig.update_layout(margin={"l": 110, "r": 8, "t": 28, "b": 24})
    return fig


def hourly_chart(hourly: list[int]) -> go.Figure:
    """Bars of new events per hour of the day (Asia/Shanghai)."""
    fig = go.Figure(go.Bar(x=[f"{h:02d}" for h in range(24)], y=hourly, marker_color="#80ed99"))
    return _layout(fig, "24小时分布（近90日）")
