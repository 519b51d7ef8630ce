"""Plotly charts of the 预警质量 page: alarm rate per community against the target, priority split."""
from __future__ import annotations

import plotly.graph_objects as go

from governance.alerts.alarm_quality import TARGETS, AlarmQuality
from governance.alerts.warnings import LABELS, load_rules


def _style(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title={"text": title, "font": {"size": 15, "color": "#8aa0c6"}, "x": 0.01},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", height=height,
                      font={"color": "#dbe7ff", "size": 12}, margin={"l": 120, "r": 16, "t": 40, "b": 32},
                      xaxis={"gridcolor": "#1f3354"}, yaxis={"gridcolor": "#1f3354"}, showlegend=False)
    return fig


def rate_chart(q: AlarmQuality) -> go.Figure:
    """New alarms per hour per community (bars, the worst on top) with the operator's limit of 6 / hour."""
    items = sorted(q.per_community_hour.items(), key=lambda kv: kv[1])
    colours = ["#e63946" if v > TARGETS["new_high_per_community_hour"] else "#4895ef" for _, v in items]
    fig = go.Figure(go.Bar(x=[round(v, 2) for _, v in items], y=[k for k, _ in items], orientation="h",
                           marker_color=colours, hovertemplate="%{y}：每小时 %{x} 条<extra></extra>"))
    fig.add_vline(x=TARGETS["new_high_per_community_hour"], line_dash="dash", line_color="#f4a261",
                  annotation_text="上限 6 条/小时", annotation_font_color="#f4a261")
    return _style(fig, f"近 {q.hours:g} 小时 各社区每小时新增预警", height=max(320, 22 * len(items) + 80))


def priority_chart(q: AlarmQuality) -> go.Figure:
    """Active warnings by colour against the 5 % / 15 % / 80 % split."""
    colours = load_rules().colors
    levels = ["red", "orange", "yellow", "blue"]
    total = sum(q.active_levels.values()) or 1
    fig = go.Figure(go.Bar(x=[LABELS[lv] for lv in levels], y=[100 * q.active_levels.get(lv, 0) / total for lv in levels],
                           marker_color=[colours[lv] for lv in levels],
                           text=[f"{q.active_levels.get(lv, 0)} 条" for lv in levels], textposition="outside",
                           hovertemplate="%{x}：%{y:.1f}%<extra></extra>"))
    for y, label in ((100 * TARGETS["red_share"], "红色上限 5%"), (100 * TARGETS["orange_share"], "橙色上限 15%")):
        fig.add_hline(y=y, line_dash="dot", line_color="#8aa0c6", annotation_text=label,
                      annotation_font_color="#8aa0c6")
    fig.update_yaxes(ticksuffix="%")
    return _style(fig, "在办预警的颜色构成（目标：红 ≤ 5%，橙 ≤ 15%）", height=320)
