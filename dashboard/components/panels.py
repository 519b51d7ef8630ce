"""Side panels of the cockpit: breadcrumb, warnings, ranking (all pure data → components)."""
from __future__ import annotations

from datetime import timezone

from dash import dcc, html

from governance.reports.area_stats import MIN_SAMPLE, AreaFigures
from governance.models import AREA_LEVELS
from governance.core.timeutil import format_deadline, format_local, format_when
from governance.alerts.warnings import LABELS, RANK

from ..view_state import ViewState


def breadcrumb(chain, view: ViewState, reachable=lambda area: True) -> list:
    """Links from the sub-district down to the current area; areas outside `reachable` are plain text."""
    items = []
    start = next((i for i, a in enumerate(chain) if a.level == "subdistrict"), 0)
    for i, a in enumerate(chain[start:]):
        if i:
            items.append(html.Span("›", className="crumb-sep"))
        if a.code == view.area or not reachable(a):
            items.append(html.Span(a.name, className="crumb current", title=AREA_LEVELS[a.level]))
        else:
            items.append(dcc.Link(a.name, href=view.with_(area=a.code).to_hash(),
                                  className=f"crumb crumb-{a.code}", title=AREA_LEVELS[a.level]))
    return items


def warnings_panel(event_rows: list[dict], grid_rows: list[dict], limit: int = 9, now=None) -> list:
    """Most severe first: warned areas (link drills) and warned events (button opens detail), the
    events in the order given (see sort_warned_events).

    An event shows how long ago it was reported (age), then its deadline with its date (and year)
    and 超期 N 天, then the reasons.
    """
    from .event_list import now_utc

    now = now or now_utc()
    rows = []
    for g in grid_rows[:3]:
        rows.append(html.Li(className=f"warn-row lv-{g['level']}", children=[
            html.Span(LABELS[g["level"]][:1], className="warn-badge"),
            dcc.Link(g["name"], href=g["href"], className="warn-title"),
            html.Span("；".join(g["reasons"])[:40], className="warn-reason"),
        ]))
    for ev in event_rows[:limit - len(rows)]:
        why = (f"限 {format_deadline(ev['due_at'], now)}｜" if ev["due_at"] else "") + "；".join(ev["reasons"])
        age = format_when(ev["reported_at"], now)
        rows.append(html.Li(className=f"warn-row lv-{ev['level']}", children=[
            html.Span(LABELS[ev["level"]][:1], className="warn-badge"),
            html.Button(ev["title"], className="warn-title link-button", **{"data-event": str(ev["id"])}),
            # The age ("3 分钟前") is kept current in the browser (gridcockpit.js, from data-at): the text the
            # server sends changes only with the day, so an idle wall is not sent this panel every minute.
            html.Span([html.Span(age, className="warn-age", **{"data-at": str(_epoch_ms(ev["reported_at"]))},
                                 title=f"{format_local(ev['reported_at'], '%Y-%m-%d %H:%M')} 上报"),
                       "｜" + why[:60]], className="warn-reason", title=why),
        ]))
    return rows or [html.Li("暂无预警", className="warn-row empty")]


def warned_area_rows(figures: dict[str, AreaFigures], view: ViewState, levels=("red",)) -> list[dict]:
    """Rows of warned child areas for warnings_panel, each with what is really wrong there: a
    micro-grid's own events, or a parent's share of warned micro-grids ("下辖 12/80 个微网格红色预警（15%）")."""
    rows = [{"name": f.name, "level": f.warning, "reasons": list(f.warning_reasons) or [LABELS[f.warning]],
             "href": view.with_(area=f.code).to_hash()} for f in figures.values() if f.warning in levels]
    return sorted(rows, key=lambda r: (-RANK[r["level"]], r["name"]))


def sort_warned_events(warned: dict, rows: list[dict]) -> list[dict]:
    """Warned events in the order a command room acts on them: most severe level first, then the
    most recently raised or reported first (a 紧急 event reported a minute ago tops a backlog of
    long-overdue ones, which stay visible on the map and in the ledger)."""
    out = []
    for r in rows:
        level, reasons = warned[r["id"]]
        out.append({**r, "level": level, "reasons": reasons,
                    "title": f"{r['category']}｜{r['title'].split('｜')[-1]}"[:40]})
    return sorted(out, key=lambda r: (-RANK[r["level"]], -_latest(r).timestamp(), -r["id"]))


def _latest(row: dict):
    """When a warned event last became news: its warning was raised, or it was reported."""
    return max(t for t in (row.get("raised_at"), row["reported_at"]) if t is not None)


def _epoch_ms(value) -> int:
    """Milliseconds since the epoch of a stored naive-UTC time (what the browser's Date takes)."""
    return int(value.replace(tzinfo=timezone.utc).timestamp() * 1000)


def format_age(then, now) -> str:
    """How long ago, in the largest whole unit: 刚刚, 5 分钟前, 3 小时前, 12 天前."""
    seconds = max(0, (now - then).total_seconds())
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟前"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时前"
    return f"{int(seconds // 86400)} 天前"


def ranking_panel(ranked: list[AreaFigures], view: ViewState, level_name: str) -> list:
    """Lowest closure rates first, only areas with at least MIN_SAMPLE events in the period."""
    if not ranked:
        return [html.Li(f"各{level_name}期内事件均少于 {MIN_SAMPLE} 件，暂不排名", className="rank-row empty")]
    rows = []
    for i, f in enumerate(ranked, start=1):
        rows.append(html.Li(className="rank-row", children=[
            html.Span(str(i), className="rank-no"),
            dcc.Link(f.name, href=view.with_(area=f.code).to_hash(), className="rank-name"),
            html.Span(f"{f.closure:.1f}%", className="rank-value"),
            html.Span(f"{f.closed}/{f.received}", className="rank-count"),
        ]))
    return rows


def level_share(closed_by_level: dict[str, int]) -> list:
    """Share of closed events per handling level: 微事不出网格、小事不出社区、大事不出街道."""
    from governance.core.workflow import LEVELS

    total = sum(closed_by_level.values())
    if not total:
        return [html.Span("期内暂无办结事件", className="hint")]
    parts = [html.Span("办结层级：", className="hint")]
    for level, label in LEVELS.items():
        share = 100.0 * closed_by_level.get(level, 0) / total
        parts.append(html.Span(f"{label} {share:.0f}%", className=f"level-pill level-{level}",
                               title=f"{closed_by_level.get(level, 0)} 件"))
    parts.append(dcc.Link("规则", href="/rules", className="rules-link"))
    return parts
