"""走访完成率 and 按期走访率 on the wall: two pills in the cockpit's 办结层级 line, from governance.people.visits.visit_figures.

Aggregates of the area (visits done of those due by now; of those done, the ones done by their due time),
never a household; fewer than three visits counted are written "<3" like the registry's small counts, so a
micro-grid's figure points at nobody.
"""
from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from governance.people.visits import OFFLINE_ALLOWANCE, VisitFigures, visit_figures

SMALL = 3
DEFINITION = ("走访完成率：本区域关爱走访任务中，已走访的占截至目前到期（及已提前走访）任务的比例；"
              "按期走访率为按时限完成的占已走访的比例。")
ON_TIME_DEFINITION = ("按期走访率：本区域已走访的关爱走访任务（含敲门行动）中，走访时间在走访时限之前（含当时）、"
                      f"且在时限后 {OFFLINE_ALLOWANCE.total_seconds() / 3600:g} 小时（离线补录时限）内送达系统的比例；"
                      "敲门行动的时限为截止日期当天 24:00。")


def _rate_text(label: str, base: int, rate: float) -> str:
    """'<label> 87.5%', '<label> —' when nothing counts, '<label> <3 户' when fewer than three do."""
    if not base:
        return f"{label} —"
    if base < SMALL:
        return f"{label} <3 户"
    return f"{label} {rate:.1f}%"


def _pill(text: str, ident: str, definition: str, base: int, counts: str) -> html.Span:
    return html.Span(text, id=ident, className="level-pill visit-pill",
                     title=definition if base < SMALL else f"{definition}\n{counts}")


def visit_text(fig: VisitFigures) -> str:
    """'走访完成率 87.5%' (or '—' with nothing due, '<3' for fewer than three due)."""
    return _rate_text("走访完成率", fig.due, fig.completion)


def visit_pill(fig: VisitFigures) -> html.Span:
    """The pill itself, with the definition and the counts on hover."""
    return _pill(visit_text(fig), "visit-rate", DEFINITION, fig.due, f"已走访 {fig.done} / 应走访 {fig.due}")


def on_time_text(fig: VisitFigures) -> str:
    """'按期走访率 92.0%' (or '—' with nothing done, '<3 户' for fewer than three done)."""
    return _rate_text("按期走访率", fig.done, fig.on_time_rate)


def on_time_pill(fig: VisitFigures) -> html.Span:
    """The 按期走访率 pill, with its definition and the counts on hover."""
    return _pill(on_time_text(fig), "visit-on-time", ON_TIME_DEFINITION, fig.done,
                 f"按期 {fig.on_time} / 已走访 {fig.done}")


def with_visit_pill(parts: list, conn, path: str, now: datetime) -> list:
    """The 办结层级 line with the area's 走访完成率 and 按期走访率 added before its 规则 link."""
    fig = visit_figures(conn, path, now)
    pills = [visit_pill(fig), on_time_pill(fig)]
    if parts and isinstance(parts[-1], dcc.Link):
        return [*parts[:-1], *pills, parts[-1]]
    return [*parts, *pills]


def visit_rule_section(swatch) -> list:
    """The missed-visit rule in words for /rules (nothing when warning_rules.yaml has no `visits` entry)."""
    from governance.alerts.visit_warnings import load_rule

    rule = load_rule()
    if rule is None:
        return []
    return [html.H2("关爱走访"), html.Ul([html.Li([
        swatch(rule.level), f" 微网格内逾期未访的走访任务 ≥ {rule.count} 户（原因写作“{rule.reason} N 户”）"])],
        className="rule-list")]
