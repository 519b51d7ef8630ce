"""工作简报: weekly and monthly reports of an area, gathered with the cockpit's own KPI code and stored.

A report's figures come from the same functions the cockpit calls (compute_kpis, child_figures,
category_breakdown), with the period's end as "now": a report of the current period equals the
cockpit's 本周/本月 strip at that moment, and a report of a finished period equals what the
cockpit showed at its last instant. The content is one plain structure (KPIs + tables + map data)
that both the PDF (governance.reports.brief_pdf) and the Excel workbook (governance.reports.brief_xlsx) render.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection, Engine

from .area_stats import child_figures
from ..events.drills import drill_report, list_drills
from ..figures.kpis import (DEFINITIONS, KPI_MIN_SAMPLE, TOO_FEW, compute_kpis, counted_events, kpi_text, kpis_in_window,
                   period_bounds, same_time_last_year)
from ..models import CHILD_LEVEL, AREA_LEVELS, Area, Brief, Category, Event, EventAudit, Outbox, RaisedWarning
from ..events.queries import area_by_code, area_features
from ..core.scope import subtree
from ..core.timeutil import format_local, to_local
from ..figures.trends import category_breakdown
from ..alerts.warning_eval import ScopeWarnings
from ..alerts.warnings import LABELS as WARNING_LABELS
from ..alerts.warnings import load_rules
from ..core.workflow import LEVELS, OPEN_STATES

KINDS = {"weekly": "周报", "monthly": "月报"}
PERIOD_OF = {"weekly": "week", "monthly": "month"}
WHICH = {"previous": "上一完整周期", "current": "本期至今"}
SCHEDULED_LEVELS = ("subdistrict",)   # the scheduler writes these areas' reports; any area on demand
CHRONIC_DAYS = 7                      # open and overdue this many days: listed for 督办
COUNT_DEFINITIONS = {
    "total": "受理件数 = 期内受理的事件数（不含已退回、重复件、演练件）",
    "cases": "群众诉求 = 期内受理的 12345/蓉e报 诉求件数（不含重复件）",
}
# (key, label, kind) in report order; kind formats the value exactly as the cockpit's KPI cards do.
REPORT_KPIS = [
    ("total", "受理件数", "count"), ("closure_rate", "办结率", "rate"), ("on_time_rate", "按期办结率", "rate"),
    ("satisfaction_rate", "满意率", "rate"), ("cases", "群众诉求", "count"), ("cases_yoy", "诉求同比", "change"),
    ("open_count", "在办", "count"), ("overdue", "超期", "count"),
]
LAST_YEAR_KEYS = {"total", "closure_rate", "on_time_rate", "satisfaction_rate", "cases"}


@dataclass(frozen=True)
class Period:
    """A report period: kind, [start, end] as naive UTC, and its Chinese label."""

    kind: str
    start: datetime
    end: datetime
    label: str


def period_of(kind: str, now: datetime, which: str = "previous") -> Period:
    """The period of a report: the last finished week/month ("previous") or the current one so far."""
    if kind not in KINDS:
        raise ValueError(f"未知简报类型 {kind!r}（可选：{'、'.join(KINDS)}）")
    if which not in WHICH:
        raise ValueError(f"未知简报周期 {which!r}（可选：{'、'.join(WHICH)}）")
    start, end = period_bounds(PERIOD_OF[kind], now)
    if which == "previous":
        end = start - timedelta(microseconds=1)
        start = period_bounds(PERIOD_OF[kind], end)[0]
    first, last = to_local(start), to_local(end)
    if kind == "weekly":
        label = f"{first:%Y年%m月%d日}—{last:%m月%d日}（第 {first.isocalendar()[1]} 周）"
    else:
        label = f"{first:%Y年%m月}"
    if which == "current":
        label += f"（截至 {last:%m月%d日 %H:%M}）"
    return Period(kind, start, end, label)


def kpi_rows(snapshot, last_year) -> list[dict]:
    """The report's KPI table: label, definition, this period's and the same period last year's value."""
    rows = []
    for key, label, kind in REPORT_KPIS:
        definition = DEFINITIONS.get(key) or COUNT_DEFINITIONS[key]
        if key in KPI_MIN_SAMPLE:
            definition += f"（依据少于 {KPI_MIN_SAMPLE[key]} 件时记为“{TOO_FEW}”）"
        if key == "overdue":
            definition = "超期 = 生成简报时在办事件中已超过办理时限的件数"
        rows.append({"key": key, "label": label, "definition": definition,
                     "value": kpi_text(snapshot, key, kind),
                     "last_year": kpi_text(last_year, key, kind) if key in LAST_YEAR_KEYS else "—"})
    return rows


def _table(key: str, title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"key": key, "title": title, "columns": columns, "rows": rows, "note": note}


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _areas_table(figures: dict, level: str) -> dict:
    ranked = sorted(figures.values(), key=lambda f: (f.closure is None, f.closure or 0, -f.received))
    rows = [[i + 1, f.name, f.received, f.closed, _pct(f.closure), f.open] for i, f in enumerate(ranked)]
    return _table("areas", f"{AREA_LEVELS.get(level, level)}排名（按办结率由低到高）",
                  ["名次", AREA_LEVELS.get(level, level), "受理", "办结", "办结率", "在办（生成时）"], rows,
                  "受理少于 20 件的区域不计办结率，排在最后。")


def _community_names(conn: Connection, path: str) -> dict[str, str]:
    return dict(conn.execute(select(Area.code, Area.name).where(subtree(Area.path, path),
                                                                Area.level == "community")).all())


def _community_of(path: str | None, names: dict[str, str]) -> str:
    parts = (path or "").strip("/").split("/")
    return names.get(parts[3], "") if len(parts) > 3 else ""


def _warnings_table(conn: Connection, path: str, period: Period) -> dict:
    rows = conn.execute(select(RaisedWarning.kind, RaisedWarning.subject, RaisedWarning.level, RaisedWarning.reasons, RaisedWarning.raised_at,
                               RaisedWarning.cleared_at)
                        .where(subtree(RaisedWarning.area_path, path), RaisedWarning.raised_at.between(period.start, period.end))
                        .order_by(RaisedWarning.raised_at)).all()
    rank = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    grids = [r.subject for r in rows if r.kind == "grid"]
    names = dict(conn.execute(select(Area.code, Area.name).where(Area.code.in_(grids))).all()) if grids else {}
    counts = {lv: sum(r.level == lv for r in rows) for lv in rank}
    out = [[WARNING_LABELS.get(r.level, r.level), f"事件 #{r.subject}" if r.kind == "event" else names.get(r.subject, r.subject),
            "；".join(r.reasons or []), format_local(r.raised_at, "%m-%d %H:%M"), "已解除" if r.cleared_at else "未解除"]
           for r in sorted(rows, key=lambda r: (rank.get(r.level, 9), r.raised_at))[:30]]
    note = "期内新发预警：" + "，".join(f"{WARNING_LABELS[lv]} {n} 条" for lv, n in counts.items()) + \
        ("（列出最严重的 30 条）" if len(rows) > 30 else "")
    return _table("warnings", "预警", ["等级", "对象", "原因", "发出时间", "状态"], out, note)


def _escalations_table(conn: Connection, path: str, period: Period, names: dict[str, str]) -> dict:
    rows = conn.execute(select(EventAudit.event_id, EventAudit.action, EventAudit.from_value, EventAudit.to_value,
                               EventAudit.note, EventAudit.at, Event.title, Event.area_path)
                        .join(Event, Event.id == EventAudit.event_id)
                        .where(counted_events(path), EventAudit.field == "handling_level",
                               EventAudit.action.in_(("自动升级", "手动升级")),
                               EventAudit.at.between(period.start, period.end))
                        .order_by(EventAudit.at.desc())).all()
    by_to = {lv: sum(r.to_value == lv for r in rows) for lv in ("community", "subdistrict")}
    levels = dict(conn.execute(select(Event.handling_level, func.count()).where(
        counted_events(path), Event.reported_at.between(period.start, period.end)).group_by(Event.handling_level)).all())
    out = [[r.event_id, r.title, _community_of(r.area_path, names),
            f"{LEVELS.get(r.from_value, r.from_value)}→{LEVELS.get(r.to_value, r.to_value)}", r.note or r.action,
            format_local(r.at, "%m-%d %H:%M")] for r in rows[:30]]
    note = f"期内升级 {len(rows)} 件：升至社区 {by_to['community']} 件，升至街道 {by_to['subdistrict']} 件" + \
        ("（列出最近 30 件）" if len(rows) > 30 else "") + "。期内受理事件现处置层级：" + \
        "，".join(f"{name} {levels.get(lv, 0):,} 件" for lv, name in LEVELS.items())
    return _table("escalations", "升级事件（分级预控）", ["事件", "标题", "社区", "层级", "升级原因", "时间"], out, note)


def _chronic_table(conn: Connection, path: str, now: datetime, names: dict[str, str]) -> dict:
    cutoff = now - timedelta(days=CHRONIC_DAYS)
    cond = and_(counted_events(path), Event.status.in_(OPEN_STATES), Event.due_at < cutoff)
    total = conn.execute(select(func.count()).select_from(Event).where(cond)).scalar_one()
    rows = conn.execute(select(Event.id, Event.title, Event.area_path, Event.due_at, Category.name)
                        .join(Category, Category.code == Event.category_code)
                        .where(cond).order_by(Event.due_at).limit(20)).all()
    out = [[r.id, r.title, r.name, _community_of(r.area_path, names), format_local(r.due_at, "%Y-%m-%d"),
            (now - r.due_at).days] for r in rows]
    return _table("chronic", f"督办事项：超期 {CHRONIC_DAYS} 天以上未办结", ["事件", "标题", "类别", "社区", "办理时限", "超期天数"],
                  out, f"共 {total} 件（列出超期最久的 20 件）")


def _drills_table(conn: Connection, path: str, period: Period) -> dict:
    cond = and_(subtree(Event.area_path, path), Event.reported_at.between(period.start, period.end))
    out = []
    for d in list_drills(conn, cond)[:10]:
        rows = drill_report(conn, d["drill_id"], period.end, cond)
        sent, accepted = sum(r["sent"] for r in rows), sum(r["accepted"] for r in rows)
        medians = sorted(r["median_minutes"] for r in rows if r["median_minutes"] is not None)
        slowest = max(rows, key=lambda r: r["slowest_minutes"] or 0) if rows else None
        out.append([d["drill_id"], format_local(d["started_at"], "%m-%d %H:%M"), sent, accepted,
                    sum(r["finished"] for r in rows), _pct(100.0 * accepted / sent if sent else None),
                    medians[len(medians) // 2] if medians else "—", slowest["community"] if slowest else "—"])
    return _table("drills", "网格赶考（演练）", ["演练", "发起", "派出", "签收", "完成", "签收率", "签收中位（分钟）",
                                           "最慢社区"], out, "演练事件不计入任何指标。")


def gather(conn: Connection, area_code: str, period: Period, now: datetime) -> dict:
    """Everything a report shows for an area and period (tables of strings and numbers, map data)."""
    area = area_by_code(conn, area_code)
    if area is None:
        raise ValueError(f"未知区域 {area_code}")
    name = PERIOD_OF[period.kind]
    snapshot = compute_kpis(conn, area.path, name, period.end)
    last_year = kpis_in_window(conn, area.path, same_time_last_year(period.start), same_time_last_year(period.end),
                               period.end)
    rules = load_rules()
    quiet = ScopeWarnings()  # rankings without colours of "now" for a past period
    child = CHILD_LEVEL.get(area.level)
    names = _community_names(conn, area.path)
    tables = []
    if child:
        tables.append(_areas_table(child_figures(conn, area.path, child, name, period.end, rules, quiet), child))
    cats = category_breakdown(conn, area.path, name, period.end, limit=10)
    total = snapshot.total or 1
    tables.append(_table("categories", "高发类别（前 10）", ["名次", "类别", "件数", "占受理"],
                         [[i + 1, c, n, _pct(100.0 * n / total)] for i, (c, n) in enumerate(cats)]))
    grids = child_figures(conn, area.path, "micro_grid", name, period.end, rules, quiet) \
        if area.level != "micro_grid" else {}
    codes_paths = dict(conn.execute(select(Area.code, Area.path).where(
        subtree(Area.path, area.path), Area.level == "micro_grid")).all())
    hot = sorted((f for f in grids.values() if f.received), key=lambda f: (-f.received, f.code))[:10]
    tables.append(_table("hotspots", "热点微网格（前 10）", ["名次", "微网格", "社区", "受理", "办结", "在办"],
                         [[i + 1, f.name, _community_of(codes_paths.get(f.code), names), f.received, f.closed, f.open]
                          for i, f in enumerate(hot)]))
    tables.append(_warnings_table(conn, area.path, period))
    tables.append(_escalations_table(conn, area.path, period, names))
    tables.append(_chronic_table(conn, area.path, now, names))
    tables.append(_drills_table(conn, area.path, period))
    kind_label = KINDS[period.kind]
    return {"title": f"{area.name}工作{kind_label}", "area": {"code": area.code, "name": area.name, "level": area.level},
            "kind": period.kind, "period": period.label, "generated_at": format_local(now, "%Y-%m-%d %H:%M"),
            "kpis": kpi_rows(snapshot, last_year), "tables": tables,
            "map": {"features": area_features(conn, area.path, "micro_grid")["features"],
                    "counts": {code: f.received for code, f in grids.items()}, "hot": [f.code for f in hot]}}


def summary_text(content: dict) -> str:
    """A short text of the headline KPIs (the group robot's message, the list page)."""
    return "；".join(f"{k['label']} {k['value']}" for k in content["kpis"][:6])


def generate(engine: Engine, area_code: str, kind: str, now: datetime, which: str = "previous",
             actor: str = "系统（定时）") -> int:
    """Gather, render (PDF and Excel) and store one report; the generation is logged; return its id."""
    from ..accounts.accounts import log_access
    from .brief_pdf import render_pdf
    from .brief_xlsx import render_xlsx

    period = period_of(kind, now, which)
    with engine.begin() as conn:  # a queued rollup flush is kept
        content = gather(conn, area_code, period, now)
        area_path = conn.execute(select(Area.path).where(Area.code == area_code)).scalar_one()
    pdf, xlsx = render_pdf(content), render_xlsx(content)
    stored = {k: v for k, v in content.items() if k != "map"}
    with engine.begin() as conn:
        brief_id = conn.execute(insert(Brief).returning(Brief.id), [{
            "area_code": area_code, "area_path": area_path, "kind": kind, "period_start": period.start,
            "period_end": period.end, "period_label": period.label, "generated_at": now, "generated_by": actor[:80],
            "content": json.loads(json.dumps(stored, ensure_ascii=False, default=str)), "pdf": pdf, "xlsx": xlsx}]
        ).scalar_one()
        log_access(conn, actor, "brief_generate", now, target=area_code, detail=f"{kind} {period.label} #{brief_id}")
    return brief_id


def list_briefs(conn: Connection, condition, limit: int = 200) -> list[dict]:
    """Stored reports whose area matches `condition` (a role's scope), newest period first."""
    rows = conn.execute(select(Brief.id, Brief.area_code, Area.name, Brief.kind, Brief.period_label,
                               Brief.period_start, Brief.generated_at, Brief.generated_by)
                        .join(Area, Area.code == Brief.area_code).where(condition)
                        .order_by(Brief.period_start.desc(), Brief.generated_at.desc()).limit(limit)).all()
    return [dict(r._mapping) for r in rows]


def brief_file(conn: Connection, brief_id: int, fmt: str):
    """(file bytes, area path, file name) of a stored report in `fmt` ("pdf" or "xlsx"), None if unknown."""
    column = {"pdf": Brief.pdf, "xlsx": Brief.xlsx}[fmt]
    row = conn.execute(select(column, Brief.area_path, Brief.area_code, Brief.kind, Brief.period_start)
                       .where(Brief.id == brief_id)).one_or_none()
    if row is None:
        return None
    name = f"brief-{row.area_code}-{row.kind}-{to_local(row.period_start):%Y%m%d}-{brief_id}.{fmt}"
    return row[0], row.area_path, name


def brief_content(conn: Connection, brief_id: int) -> dict:
    """The stored content (figures, tables, period …) of one report; raises when there is none."""
    return conn.execute(select(Brief.content).where(Brief.id == brief_id)).scalar_one()


def generate_due(engine: Engine, now: datetime, levels=SCHEDULED_LEVELS) -> list[int]:
    """The scheduler's job: last week's and last month's reports of every area of `levels` that has none
    yet; each new one is announced to the group robot (outbox) with its headline KPIs."""
    with engine.connect() as conn:
        areas = conn.execute(select(Area.code, Area.name).where(Area.level.in_(levels)).order_by(Area.code)).all()
    made = []
    for kind in KINDS:
        period = period_of(kind, now)
        with engine.connect() as conn:
            done = set(conn.execute(select(Brief.area_code).where(
                Brief.kind == kind, Brief.period_start == period.start, Brief.period_end == period.end)).scalars())
        for area in areas:
            if area.code in done:
                continue
            brief_id = generate(engine, area.code, kind, now)
            made.append(brief_id)
            with engine.begin() as conn:
                content = conn.execute(select(Brief.content).where(Brief.id == brief_id)).scalar_one()
                conn.execute(insert(Outbox), [{
                    "channel": "webhook", "dedupe_key": f"brief:{brief_id}", "created_at": now, "attempts": 0,
                    "next_attempt_at": now, "payload": {
                        "title": f"{content['title']} {period.label}",
                        "text": summary_text(content) + "\n请在驾驶舱“工作简报”页（/briefs）查看与下载 PDF、Excel",
                        "footer": "网格驾驶舱 · 工作简报"}}])
    return made
