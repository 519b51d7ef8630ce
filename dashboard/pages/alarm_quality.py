"""预警质量: is the warning system helping? Rate, floods, top offenders, standing and chattering alarms."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboard.auth import home_code
from dashboard.components.alarm_charts import priority_chart, rate_chart
from dashboard.runtime import current
from governance.alerts.alarm_mgmt import load_alarm_rules
from governance.alerts.alarm_quality import TARGETS, alarm_quality
from governance.events.queries import area_by_code
from governance.alerts.warnings import LABELS

dash.register_page(__name__, path="/alarm-quality", title="预警质量 · 网格驾驶舱", name="预警质量")
ACCESS = "view_alarm_quality"


def _minutes(value) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} 分钟" if value < 120 else f"{value / 60:.1f} 小时"


def _card(label: str, value: str, target: str, ok: bool | None) -> html.Div:
    cls = "aq-card" + ("" if ok is None else (" ok" if ok else " bad"))
    return html.Div(className=cls, children=[html.Div(label, className="aq-label"),
                                             html.Div(value, className="aq-value"),
                                             html.Div(target, className="aq-target")])


def quality_view(q) -> list:
    """The page body of one AlarmQuality (cards, two charts, three lists)."""
    return [
        html.Div(className="aq-cards", children=[
            _card("红色占比", f"{100 * q.share('red'):.1f}%", "目标 ≤ 5%", q.share("red") <= TARGETS["red_share"]),
            _card("橙色占比", f"{100 * q.share('orange'):.1f}%", "目标 ≤ 15%",
                  q.share("orange") <= TARGETS["orange_share"]),
            _card("新增红橙 每社区每小时", f"{q.high_per_community_hour:.2f}", "目标 ≤ 6",
                  q.high_per_community_hour <= TARGETS["new_high_per_community_hour"]),
            _card("泛滥时段占比", f"{100 * q.flood_share:.2f}%", f"10 分钟 > 10 条；{q.flood_windows} 个时段",
                  q.flood_share <= TARGETS["flood_window_share"]),
            _card("红橙预警超 24 小时未解除", str(q.standing_total), "应为 0：转督办或修正规则", q.standing_total == 0),
            _card("平均确认用时", _minutes(q.mean_ack_minutes), "预警产生到有人确认", None),
            _card("平均解除用时", _minutes(q.mean_clear_minutes), "预警产生到条件消失", None),
            _card("督办 / 搁置", f"{q.supervised} / {q.shelved}", "离开预警清单、另行跟踪", None),
        ]),
        html.Div(className="aq-charts", children=[
            dcc.Graph(figure=rate_chart(q), config={"displayModeBar": False}, className="aq-rate"),
            dcc.Graph(figure=priority_chart(q), config={"displayModeBar": False}, className="aq-priority")]),
        html.Div(className="aq-lists", children=[
            html.Div([html.H2("最常出现的 10 类预警"), html.Ol([html.Li(f"{what}：{n} 次") for what, n in q.top])]),
            html.Div([html.H2("超过 24 小时仍未解除的红橙预警"), html.Ol([
                html.Li(f"{LABELS[s['level']][:2]}｜{'事件 #' if s['kind'] == 'event' else '网格 '}{s['subject']}"
                        f"｜{s['area']}｜{s['reason']}｜{s['hours']:.0f} 小时") for s in q.standing])
                if q.standing else html.P("无", className="hint")]),
            html.Div([html.H2("反复出现的预警（抖动）"), html.Ol([html.Li(f"{what}：{n} 次") for what, n in q.chattering])
                      if q.chattering else html.P("无", className="hint")]),
        ]),
    ]


def layout(**_query):
    """Alarm performance of the principal's area over the last 24 hours."""
    now = current().now()
    with current().engine.connect() as conn:
        area = area_by_code(conn, home_code())
        q = alarm_quality(conn, area.path, now, load_alarm_rules(), hours=24)
    return html.Div(className="page alarm-quality-page", children=[
        html.Header(className="page-header", children=[
            html.H1(f"预警质量 · {area.name}"), dcc.Link("← 返回驾驶舱", href="/", className="back-link"),
            dcc.Link("督办与搁置 →", href="/supervision", className="back-link")]),
        html.P("参照流程工业报警管理标准（EEMUA 191、ISA-18.2）：红色意味着立即处置且应当少见；"
               "值班人员平均每 10 分钟能处置约 1 条；10 分钟内超过 10 条即为泛滥；超过一天的预警是要修正的缺陷。",
               className="hint"),
        *quality_view(q),
    ])
