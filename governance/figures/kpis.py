"""Closure-rate KPIs (办结率, 按期办结率, 满意率, 今日新增, 超期, 诉求同比): read from the scope rollups for a
community or above, computed from the events for smaller scopes; both give the same numbers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from . import rollups

from . import scope_rollups
from ..models import Event
from .rollups import local_day
from ..core.scope import subtree
from ..core.timeutil import local_day_start, to_local, to_utc_naive
from ..core.workflow import OPEN_STATES

# Definitions shown on hover; the single source of truth for what each KPI means.
DEFINITIONS = {
    "closure_rate": "办结率 = 期内受理事件中已办结的件数 ÷ 期内受理件数（不含已退回、重复件、演练件）",
    "on_time_rate": "按期办结率 = 期内受理并已办结事件中，在办理时限内办结的件数 ÷ 已办结件数",
    "satisfaction_rate": "满意率 = 期内回访中评价“满意/基本满意”（4–5 分）的件数 ÷ 回访件数",
    "new_today": "今日新增 = 今日（北京时间 0 点起）受理的事件数（重复件只计一次）",
    "closed_today": "今日办结 = 今日办结的事件数",
    "open_count": "在办 = 当前处于五步流程中、尚未办结或退回的事件数",
    "overdue": "超期 = 在办事件中已超过办理时限的件数",
    "cases_yoy": "诉求同比 = 期内群众诉求（12345/蓉e报）件数较去年同期的增减百分比",
}
PERIODS = {"today": "今日", "week": "本周", "month": "本月", "year": "本年"}

# A rate on a handful of events says nothing (2 complaints against 1 is "−50 %"): below these
# sample sizes a KPI shows 样本不足 instead of a percentage. The sample of each rate is its
# denominator; 诉求同比 needs the minimum in both years. The map and the ranking use MIN_SAMPLE.
MIN_SAMPLE = 20
KPI_MIN_SAMPLE = {"closure_rate": MIN_SAMPLE, "on_time_rate": MIN_SAMPLE, "satisfaction_rate": MIN_SAMPLE,
                  "cases_yoy": MIN_SAMPLE}


@dataclass(frozen=True)
class KpiSnapshot:
    """KPI values for one scope and period, with the counts behind each rate."""

    total: int
    closed: int
    closed_on_time: int
    rated: int
    satisfied: int
    new_today: int
    closed_today: int
    open_count: int
    overdue: int
    cases: int
    cases_last_year: int

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return None if den == 0 else 100.0 * num / den

    @property
    def closure_rate(self) -> float | None:
        """办结率 in percent, None when nothing was received."""
        return self._rate(self.closed, self.total)

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率 in percent."""
        return self._rate(self.closed_on_time, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率 in percent."""
        return self._rate(self.satisfied, self.rated)

    def sample(self, key: str) -> int | None:
        """The number of events a rate KPI rests on (for 诉求同比 the smaller of the two years)."""
        return {"closure_rate": self.total, "on_time_rate": self.closed, "satisfaction_rate": self.rated,
                "cases_yoy": min(self.cases, self.cases_last_year)}.get(key)

    def too_few(self, key: str) -> bool:
        """True when a KPI rests on fewer events than its minimum (KPI_MIN_SAMPLE): shown as 样本不足."""
        n, minimum = self.sample(key), KPI_MIN_SAMPLE.get(key)
        return n is not None and minimum is not None and n < minimum

    @property
    def cases_yoy(self) -> float | None:
        """诉求同比 in percent change (negative = fewer complaints than last year)."""
        if self.cases_last_year == 0:
            return None
        return 100.0 * (self.cases - self.cases_last_year) / self.cases_last_year


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """Return naive-UTC [start, now] of a named period in Asia/Shanghai (today/week/month/year)."""
    local = to_local(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "today":
        start = midnight
    elif period == "week":
        start = midnight - timedelta(days=local.weekday())
    elif period == "month":
        start = midnight.replace(day=1)
    elif period == "year":
        start = midnight.replace(month=1, day=1)
    else:
        raise ValueError(f"unknown period {period!r}: choose one of {', '.join(PERIODS)}")
    return to_utc_naive(start), now


def _same_time_last_year(value: datetime) -> datetime:
    return same_time_last_year(value)


def same_time_last_year(value: datetime) -> datetime:
    """The same local date and time a year earlier (28 February for 29 February), as naive UTC."""
    local = to_local(value)
    try:
        shifted = local.replace(year=local.year - 1)
    except ValueError:  # 29 February
        shifted = local.replace(year=local.year - 1, day=28)
    return to_utc_naive(shifted)


def counted_events(scope_path: str):
    """Conditions every KPI shares: inside the scope, not a duplicate, not a drill."""
    return and_(subtree(Event.area_path, scope_path), Event.duplicate_of_id.is_(None),
                Event.is_drill.is_(False))


def compute_kpis(conn: Connection, scope_path: str, period: str, now: datetime) -> KpiSnapshot:
    """Compute the KPI snapshot of a scope for a period: from the scope rollups for a community or
    above (queued changes flushed first), from the events themselves for a smaller scope."""
    if scope_rollups.covers(scope_path):
        rollups.flush_if_queued(conn)
        return kpis_from_rollups(conn, scope_path, period, now)
    return kpis_from_events(conn, scope_path, period, now)


def _open_and_overdue(conn: Connection, scope_path: str, now: datetime) -> tuple[int, int]:
    row = conn.execute(select(func.count(), func.coalesce(func.sum(case((Event.due_at < now, 1), else_=0)), 0))
                       .where(counted_events(scope_path), Event.status.in_(OPEN_STATES))).one()
    return int(row[0]), int(row[1])


def _overdue_since(conn: Connection, scope_path: str, since: datetime, now: datetime) -> int:
    return conn.execute(select(func.count()).select_from(Event).where(
        counted_events(scope_path), Event.status.in_(OPEN_STATES), Event.due_at >= since,
        Event.due_at < now)).scalar_one()


def _cases_between(conn: Connection, scope_path: str, start: datetime, end: datetime) -> int:
    """Cases reported in a window of at most a day: read through the time index (SQLite, which keeps no
    statistics, would otherwise read a whole sub-district's events by area: ~25 ms instead of ~0.1)."""
    query = select(func.count()).select_from(Event).where(
        counted_events(scope_path), Event.source == "cases", Event.reported_at >= start, Event.reported_at <= end)
    return conn.execute(query.with_hint(Event, "INDEXED BY ix_event_reported_at", "sqlite")).scalar_one()


def kpis_from_rollups(conn: Connection, scope_path: str, period: str, now: datetime) -> KpiSnapshot:
    """The KPI snapshot from the scope rollups (whole local days; the partial day of last year from events)."""
    start, end = period_bounds(period, now)
    first, today = local_day(start), local_day(end)
    status = scope_rollups.facet_sums(conn, scope_path, "status", first, today)
    total = closed = on_time = rated = satisfied = cases = 0
    for key, (n, n_on_time, n_rated, n_satisfied) in status.items():
        source, state = key.split("|", 1)
        total += n if state != "returned" else 0
        cases += n if source == "cases" else 0
        if state == "closed":
            closed, on_time, rated, satisfied = closed + n, on_time + n_on_time, rated + n_rated, satisfied + n_satisfied
    new_today = sum(v[0] for v in scope_rollups.facet_sums(conn, scope_path, "status", today, today).values())
    closed_today = sum(v[0] for v in scope_rollups.facet_sums(conn, scope_path, "closed", today, today).values())
    open_by_due = scope_rollups.facet_by_day(conn, scope_path, "open", date.min, scope_rollups.NO_DUE)
    open_count = sum(open_by_due.values())
    # overdue: open with a deadline on an earlier local day, or earlier today (those few from the events)
    overdue = sum(n for (day, _key), n in open_by_due.items() if day < today)
    overdue += _overdue_since(conn, scope_path, local_day_start(now), now)
    ly_start, ly_end = _same_time_last_year(start), _same_time_last_year(end)
    ly_first, ly_last = local_day(ly_start), local_day(ly_end)
    whole_days = scope_rollups.facet_sums(conn, scope_path, "status", ly_first, ly_last - timedelta(days=1))
    cases_last_year = sum(v[0] for k, v in whole_days.items() if k.startswith("cases|"))
    cases_last_year += _cases_between(conn, scope_path, local_day_start(ly_end), ly_end)
    return KpiSnapshot(total, closed, on_time, rated, satisfied, new_today, closed_today, open_count, overdue,
                       cases, cases_last_year)


def kpis_from_events(conn: Connection, scope_path: str, period: str, now: datetime) -> KpiSnapshot:
    """The KPI snapshot computed from the events (small scopes, and the reference the rollups must equal)."""
    start, end = period_bounds(period, now)
    return kpis_in_window(conn, scope_path, start, end, now)


def kpis_in_window(conn: Connection, scope_path: str, start: datetime, end: datetime, now: datetime) -> KpiSnapshot:
    """The KPI snapshot of any window [start, end] from the events (e.g. the same period last year)."""
    today = local_day_start(now)
    base = counted_events(scope_path)
    in_period = and_(Event.reported_at >= start, Event.reported_at <= end)
    closed = Event.status == "closed"
    n = lambda cond: func.coalesce(func.sum(case((cond, 1), else_=0)), 0)  # noqa: E731
    row = conn.execute(select(
        n(and_(in_period, Event.status != "returned")),
        n(and_(in_period, closed)),
        n(and_(in_period, closed, Event.closed_at <= Event.due_at)),
        n(and_(in_period, closed, Event.satisfaction.is_not(None))),
        n(and_(in_period, closed, Event.satisfaction >= 4)),
        n(Event.reported_at >= today),
        n(and_(closed, Event.closed_at >= today)),
        n(and_(in_period, Event.source == "cases")),
    ).where(base)).one()
    open_count, overdue = _open_and_overdue(conn, scope_path, now)
    last_year = _cases_between(conn, scope_path, _same_time_last_year(start), _same_time_last_year(end))
    return KpiSnapshot(*[int(v) for v in row[:7]], open_count, overdue, cases=int(row[7]),
                       cases_last_year=int(last_year))


def closed_by_level(conn: Connection, scope_path: str, period: str, now: datetime) -> dict[str, int]:
    """Events closed in the period per handling level (微事不出网格、小事不出社区、大事不出街道)."""
    start, end = period_bounds(period, now)
    if scope_rollups.covers(scope_path):
        rollups.flush_if_queued(conn)
        out: dict[str, int] = {}
        for key, (n, *_rest) in scope_rollups.facet_sums(conn, scope_path, "closed", local_day(start),
                                                         local_day(end)).items():
            level = key.split("|", 1)[1]
            out[level] = out.get(level, 0) + n
        return {level: n for level, n in out.items() if n}
    # The scope is the selective part: tell SQLite to walk the area-path index, not closed_at.
    rows = conn.execute(select(Event.handling_level, func.count()).where(
        counted_events(scope_path), Event.status == "closed", Event.closed_at.between(start, end))
        .group_by(Event.handling_level)
        .with_hint(Event, "INDEXED BY ix_event_area_path", dialect_name="sqlite")).all()
    return {level: int(n) for level, n in rows}


TOO_FEW = "样本不足"  # a rate on fewer events than KPI_MIN_SAMPLE: no percentage is shown


def format_kpi(value: float | int | None, kind: str) -> str:
    """A KPI value as the cockpit's cards and the 工作简报 show it: rates 0.0%, changes +0.0%, counts 1,234."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value:.1f}%"
    if kind == "change":
        return f"{value:+.1f}%"
    return f"{int(value):,}"


def kpi_text(snapshot: KpiSnapshot, key: str, kind: str) -> str:
    """One KPI of a snapshot as shown: 样本不足 for a rate on too few events, else format_kpi."""
    return TOO_FEW if snapshot.too_few(key) else format_kpi(getattr(snapshot, key), kind)
