"""Counts of the people registry per micro-grid (people_rollup), rolled up to any area, aggregates only.

Metrics: residents (常住人口: active, 常住), floating (流动人口), households (户数, open), elderly (60 岁以上),
special (特殊人群: residents in any group), group:<code> (each group), rentals (出租房), premises (经营场所),
fire_overdue (经营场所 without a fire-safety check in the last year). Rebuilt after every import and
seed (one GROUP BY per table); the area tree's households/residents follow the registry once it has any.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from .models import Area
from .people import groups
from .people_models import Household, PeopleRollup, Place, Resident
from .scope import subtree

METRICS = {
    "residents": "常住人口",
    "households": "户数",
    "special": "特殊人群",
    "rentals": "出租房",
    "premises": "经营场所",
}
DETAIL = {"floating": "流动人口", "elderly": "60岁以上", "fire_overdue": "消防检查逾期"}


def metric_labels() -> dict[str, str]:
    """Every metric with its Chinese label (groups included)."""
    return {**METRICS, **DETAIL, **{f"group:{c}": n for c, n in groups().items()}}


def rebuild(conn: Connection, today: date) -> int:
    """Recount the registry per micro-grid into people_rollup; update the area tree's counts; return rows."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    old_expr = Resident.birth_year <= today.year - 60
    q = (select(Household.area_path, Resident.residence, Resident.groups, old_expr, func.count())
         .join(Household, Household.id == Resident.household_id)
         .where(Resident.closed_at.is_(None), Household.area_path.isnot(None))
         .group_by(Household.area_path, Resident.residence, Resident.groups, old_expr))
    for path, residence, grp, old, n in conn.execute(q):
        counts[(path, "residents" if residence == "resident" else "floating")] += n
        if old:
            counts[(path, "elderly")] += n
        codes = [c for c in (grp or "").split(",") if c]
        if codes:
            counts[(path, "special")] += n
            for c in codes:
                counts[(path, f"group:{c}")] += n
    for path, n in conn.execute(select(Household.area_path, func.count()).where(
            Household.closed_at.is_(None), Household.area_path.isnot(None)).group_by(Household.area_path)):
        counts[(path, "households")] += n
    overdue = today - timedelta(days=365)
    for path, kind, stale, n in conn.execute(
            select(Place.area_path, Place.kind,
                   func.coalesce(Place.fire_checked_on, date(1900, 1, 1)) < overdue, func.count())
            .where(Place.closed_at.is_(None), Place.area_path.isnot(None))
            .group_by(Place.area_path, Place.kind, func.coalesce(Place.fire_checked_on, date(1900, 1, 1)) < overdue)):
        counts[(path, "rentals" if kind == "rental" else "premises")] += n
        if kind == "premises" and stale:
            counts[(path, "fire_overdue")] += n
    conn.execute(delete(PeopleRollup))
    rows = [{"area_path": p, "metric": k, "n": n} for (p, k), n in counts.items()]
    if rows:
        conn.execute(insert(PeopleRollup), rows)
    _area_counts(conn, counts)
    return len(rows)


def _area_counts(conn: Connection, counts: dict) -> None:
    """Area.households / Area.residents from the registry (what 每百户事件 divides by), once it holds any."""
    hh: dict[str, int] = defaultdict(int)
    res: dict[str, int] = defaultdict(int)
    for (path, metric), n in counts.items():
        for code in path.strip("/").split("/"):
            if metric == "households":
                hh[code] += n
            elif metric in ("residents", "floating"):
                res[code] += n
    if not hh:
        return
    codes = [c for (c,) in conn.execute(select(Area.code).where(Area.households.isnot(None)))]
    rows = [{"c": c, "h": hh.get(c, 0), "r": res.get(c, 0)} for c in codes]
    conn.execute(update(Area).where(Area.code == bindparam("c"))
                 .values(households=bindparam("h"), residents=bindparam("r")).execution_options(synchronize_session=False),
                 rows)


def totals(conn: Connection, path: str) -> dict[str, int]:
    """Every metric summed over an area's subtree."""
    out = {k: 0 for k in metric_labels()}
    for metric, n in conn.execute(select(PeopleRollup.metric, func.sum(PeopleRollup.n))
                                  .where(subtree(PeopleRollup.area_path, path)).group_by(PeopleRollup.metric)):
        out[metric] = int(n)
    return out


def child_totals(conn: Connection, parent_path: str) -> dict[str, dict[str, int]]:
    """Every metric per child area (by code) of an area: the map's people figures."""
    depth = len(parent_path.strip("/").split("/"))
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, metric, n in conn.execute(select(PeopleRollup.area_path, PeopleRollup.metric, PeopleRollup.n)
                                        .where(subtree(PeopleRollup.area_path, parent_path))):
        parts = path.strip("/").split("/")
        if len(parts) > depth:
            out[parts[depth]][metric] += n
    return {k: dict(v) for k, v in out.items()}
