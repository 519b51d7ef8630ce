"""预警规则: the warning and escalation rules in force: warning_rules.yaml plus changes made in the admin console."""
from __future__ import annotations

import dash
from dash import dcc, html

from dashboard.components.visit_kpi import visit_rule_section
from dashboard.runtime import current
from governance.console.rule_settings import current_rules, settings_rows
from governance.events.department_settings import effective_participation  # 报到 limits in force (#22)
from governance.events.participation import load_participation
from governance.alerts.alarm_mgmt import describe_alarm_rules, load_alarm_rules
from governance.core.timeutil import format_local, utcnow
from governance.alerts.warnings import LABELS, describe_parent_rules, load_rules
from governance.core.workflow import SEVERITIES

dash.register_page(__name__, path="/rules", title="预警规则 · 网格驾驶舱", name="预警规则")
ACCESS = "view_rules"

# The file is read and checked at start-up (pages are registered then); changes made in the admin console
# are laid over it on every read (governance.console.rule_settings) and take effect without a restart.
load_rules()
load_participation()  # 吹哨报到 deadlines, 核实, 积分 and drill hours (docs/departments.md)
LOADED_AT = utcnow()


def _swatch(level: str, rules) -> html.Span:
    return html.Span(LABELS[level], className=f"warn-badge big lv-{level}")


def _parent_rules(r) -> list:
    """The parent-area rules in words: by the share of its micro-grids at each colour."""
    if r.parent == "worst":
        return [html.P(describe_parent_rules(r)[0][1], className="hint")]
    return [html.P("按下辖微网格的预警占比着色，自上而下取第一条满足的规则；"
                   "个别微网格预警不会使整个社区变红；下辖微网格少于规则中的个数时以全部微网格为准。",
                   className="hint"),
            html.Ul([html.Li([_swatch(level, r), " " + sentence]) for level, sentence in describe_parent_rules(r)],
                    className="rule-list parent-rules")]


def _alarm_rules() -> list:
    """The alarm-management rules (warning_rules.yaml `alarm:`) in words."""
    return [html.Li(sentence) for sentence in describe_alarm_rules(load_alarm_rules())]


def layout(**_query):
    """Every rule as a sentence a leader can check against a coloured grid."""
    with current().engine.connect() as conn:
        r = current_rules(conn)
        changed = [row for row in settings_rows(conn) if row["changed"]]
        report_hours = effective_participation(conn).report_hours
    event_rules = [html.Li([_swatch(lv, r), f" 已用去办理时限的 {t:.0%} 及以上：{why}"]) for t, lv, why in r.elapsed]
    event_rules += [
        html.Li([_swatch("red", r), f" 等级“{SEVERITIES[r.red_at_severity]}”的事件在办期间一律红色"]),
        html.Li([_swatch("red", r), f" 等级“{SEVERITIES[r.overdue_red_at_severity]}”及以上的事件一旦超期"]),
        html.Li([_swatch(r.accept_level, r), f" 派单后 {r.accept_hours:g} 小时未签收"]),
        html.Li([_swatch(r.repeat_level, r), f" 同一微网格 {r.repeat_days} 天内同类事件上报 {r.repeat_count} 次及以上"]),
        html.Li([_swatch(r.rework_level, r), " 曾被退回返工或重新打开"]),
    ]
    tiers = "；".join(f"{SEVERITIES[k]} {v:g} 小时" for k, v in sorted(r.sla_tiers_hours.items(), reverse=True))
    grid_rules = [html.Li([_swatch(lv, r), " " + "且".join(f"{LABELS[need][:2]}及以上在办事件 ≥ {n} 件"
                                                           for need, n in needs)]) for lv, needs in r.grid_rules]
    return html.Div(className="page rules-page", children=[
        html.Header(className="page-header", children=[
            html.H1("分色预警与分级预控规则"), dcc.Link("← 返回驾驶舱", href="/", className="back-link")]),
        html.P(f"以下为预警规则配置，于 {format_local(LOADED_AT, '%Y-%m-%d %H:%M')} 服务启动时载入并校验；"
               "管理员在“管理 · 预警设置”中的修改经同样的校验后立即生效，无需重启。", className="hint rules-loaded"),
        html.Ul([html.Li(f"{row['label']}：{row['value']}（配置文件为 {row['file']}；{row['by']} 于 "
                         f"{format_local(row['at'], '%Y-%m-%d %H:%M')} 修改）") for row in changed],
                className="hint rules-changed") if changed else None,
        html.H2("事件"), html.P(f"办理时限以来源系统给出的时限为准（如 12345 工单时限、隐患整改期限）；未给出时取事件类别的时限，"
                                   f"按等级缩短：{tiers}（紧急类别的来源时限也不超过此）。时限于事件接入时确定，"
                                   "批准延期后以延期时限为准。", className="hint"),
        html.Ul(event_rules + [html.Li([_swatch(load_participation().overdue_level, r),
                                        " 吹哨部门超过报到时限未报到（时限："
                                        + "；".join(f"{SEVERITIES[k]} {v:g} 小时" for k, v in
                                                   sorted(report_hours.items(), reverse=True))
                                        + "）"])], className="rule-list"),
        html.H2("网格"), html.Ul(grid_rules + [html.Li([
            _swatch("orange", r), f" 今日新增显著高于近 {r.spike_baseline_days} 天日均（泊松检验 p ≤ {r.spike_orange_p:g}，"
            f"且不少于 {r.spike_min_count} 件；p ≤ {r.spike_red_p:g} 为红色）"])], className="rule-list"),
        *visit_rule_section(lambda level: _swatch(level, r)),  # 关爱走访 逾期未访 (#19)
        html.H2("上级区域（一般网格、社区、街道）"), *_parent_rules(r),
        html.H2("分级预控（微事不出网格、小事不出社区、大事不出街道）"),
        html.Ul([html.Li(f"派单后 {r.escalate_not_accepted_hours:g} 小时未签收，自动升一级"),
                 html.Li("在当前层级超过办理时限仍未办结，自动升一级（网格 → 社区 → 街道），记入流转记录")],
                className="rule-list"),
        html.H2("预警管理（督办、搁置、泛滥）"), html.Ul(_alarm_rules(), className="rule-list alarm-rules"),
        html.H2("通知"), html.P(f"新出现的{'、'.join(LABELS[lv] for lv in r.notify_levels)}推送到群机器人；"
                              f"每轮最多 {r.notify_max_per_sync} 条，其余合并为一条汇总。", className="hint"),
    ])
