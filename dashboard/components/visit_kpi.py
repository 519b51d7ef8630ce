"""走访完成率 on the wall: one pill in the cockpit's 办结层级 line, from governance.visits.visit_figures.

An aggregate of the area (visits done of those due by now), never a household; fewer than three visits
due are written "<3" like the registry's small counts, so a micro-grid's figure points at nobody.
"""
from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from governance.visits import VisitFigures, visit_figures

SMALL = 3
DEFINITION = ("走访完成率：本区域关爱走访任务中，已走访的占截至目前到期（及已提前走访）任务的比例；"
              "按期走访率为按时限完成的占已走访的比例。")


def visit_text(fig: VisitFigures) -> str:
    """'走访完成率 87.5%' (or '—' with nothing due, '<3' for fewer than three due)."""
    if not fig.due:
        return "走访完成率 —"
    if fig.due < SMALL:
        return "走访完成率 <3 户"
    return f"走访完成率 {fig.completion:.1f}%"


def visit_pill(fig: VisitFigures) -> html.Span:
    """The pill itself, with the definition and the counts on hover."""
    title = DEFINITION if fig.due < SMALL else f"{DEFINITION}\n已走访 {fig.done} / 应走访 {fig.due}"
    return html.Span(visit_text(fig), id="visit-rate", className="level-pill visit-pill", title=title)


def with_visit_pill(parts: list, conn, path: str, now: datetime) -> list:
    """The 办结层级 line with the area's 走访完成率 added before its 规则 link."""
    pill = visit_pill(visit_figures(conn, path, now))
    if parts and isinstance(parts[-1], dcc.Link):
        return [*parts[:-1], pill, parts[-1]]
    return [*parts, pill]


def visit_rule_section(swatch) -> list:
    """The missed-visit rule in words for /rules (nothing when warning_rules.yaml has no `visits` entry)."""
    from governance.visit_warnings import load_rule

    rule = load_rule()
    if rule is None:
        return []
    return [html.H2("关爱走访"), html.Ul([html.Li([
        swatch(rule.level), f" 微网格内逾期未访的走访任务 ≥ {rule.count} 户（原因写作“{rule.reason} N 户”）"])],
        className="rule-list")]
