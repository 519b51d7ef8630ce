"""Counts of the people registry per micro-grid (people_rollup), rolled up to any area, aggregates only.

Metrics: residents (常住人口: active, 常住), floating (流动人口), households (户数, open), elderly (60 岁以上),
special (特殊人群: residents in any group), group:<code> (each group), rentals (出租房), premises (经营场所),
fire_overdue (经营场所 without a fire-safety check in the last year). Rebuilt after every import and
seed (one GROUP BY per table); the area tree's households/residents follow the registry once it has any.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, insert, literal_column, select, update
from sqlalchemy.engine import Connection

from ..models import Area
from .groups import groups
from ..models import Household, PeopleRollup, Place, Resident, WorldInfo
from ..core.scope import subtree

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


def rebuild(conn: Connection, today: date, paths: set[str] | None = None) -> int:
    """Recount the registry per micro-grid into people_rollup (only `paths` when given); update the area
    tree's counts; return the rows written."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    paths = None if paths is None else sorted(p for p in paths if p)
    if paths is not None:
        for i in range(0, len(paths), 500):
            _count(conn, today, counts, paths[i:i + 500])
    else:
        _count(conn, today, counts, None)
    if paths is None:
        conn.execute(delete(PeopleRollup))
    else:
        for i in range(0, len(paths), 500):
            conn.execute(delete(PeopleRollup).where(PeopleRollup.area_path.in_(paths[i:i + 500])))
    rows = [{"area_path": p, "metric": k, "n": n} for (p, k), n in counts.items()]
    if rows:
        conn.execute(insert(PeopleRollup), rows)
    _area_counts(conn)
    _mark_version(conn)
    return len(rows)


VERSION_KEY = "people_version"  # world_info row a rebuild renews: readers cache the registry's counts by it


def version(conn: Connection) -> str:
    """A mark that changes whenever the registry's counts are rebuilt (readers key their caches on it)."""
    return conn.execute(select(WorldInfo.value).where(WorldInfo.key == VERSION_KEY)).scalar() or ""


def _mark_version(conn: Connection) -> None:
    """Renew the registry's count mark (see version)."""
    mark = uuid.uuid4().hex
    if not conn.execute(update(WorldInfo).where(WorldInfo.key == VERSION_KEY).values(value=mark)).rowcount:
        conn.execute(insert(WorldInfo).values(key=VERSION_KEY, value=mark))


def _count(conn: Connection, today: date, counts: dict, paths: list[str] | None) -> None:
    """Add the registry's counts of micro-grids `paths` (all when None) to `counts`."""
    def only(col):
        return col.isnot(None) if paths is None else col.in_(paths)

    # literals written inline: PostgreSQL groups by an expression only when it is the same text in both places
    old_expr = Resident.birth_year <= literal_column(str(int(today.year - 60)))
    q = (select(Household.area_path, Resident.residence, Resident.groups, old_expr, func.count())
         .join(Household, Household.id == Resident.household_id)
         .where(Resident.closed_at.is_(None), only(Household.area_path))
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
            Household.closed_at.is_(None), only(Household.area_path)).group_by(Household.area_path)):
        counts[(path, "households")] += n
    overdue = literal_column(f"'{(today - timedelta(days=365)).isoformat()}'")
    stale = func.coalesce(Place.fire_checked_on, literal_column("'1900-01-01'")) < overdue
    for path, kind, stale_n, n in conn.execute(
            select(Place.area_path, Place.kind, stale, func.count())
            .where(Place.closed_at.is_(None), only(Place.area_path))
            .group_by(Place.area_path, Place.kind, stale)):
        counts[(path, "rentals" if kind == "rental" else "premises")] += n
        if kind == "premises" and stale_n:
            counts[(path, "fire_overdue")] += n


def _area_counts(conn: Connection) -> None:
    """Area.households / Area.residents from the registry (what 每百户事件 divides by), once it holds any."""
    hh: dict[str, int] = defaultdict(int)
    res: dict[str, int] = defaultdict(int)
    for path, metric, n in conn.execute(select(PeopleRollup.area_path, PeopleRollup.metric, PeopleRollup.n).where(
            PeopleRollup.metric.in_(("households", "residents", "floating")))):
        for code in path.strip("/").split("/"):
            if metric == "households":
                hh[code] += n
            else:
                res[code] += n
    if not hh:
        return
    codes = [c for (c,) in conn.execute(select(Area.code).where(Area.households.isnot(None)))]
    rows = [{"c": c, "h": hh.get(c, 0), "r": res.get(c, 0)} for c in codes]
    conn.execute(update(Area.__table__).where(Area.__table__.c.code == bindparam("c"))
                 .values(households=bindparam("h"), residents=bindparam("r")), rows)


def totals(conn: Connection, path: str) -> dict[str, int]:
    """Every metric summed over an area's subtree."""
    out = {k: 0 for k in metric_labels()}
    for metric, n in conn.execute(select(PeopleRollup.metric, func.sum(PeopleRollup.n))
                                  .where(subtree(PeopleRollup.area_path, path)).group_by(PeopleRollup.metric)):
        out[metric] = int(n)
    return out


SMALL = 3  # counts below this (and above 0) are shown as "<3" on maps, walls and embeds


def shown_count(n: int) -> int:
    """A count as a map may carry it: 1 and 2 both become 1 (drawn and written as "<3")."""
    return 1 if 0 < n < SMALL else n


def child_totals(conn: Connection, parent_path: str, segments: int | None = None) -> dict[str, dict[str, int]]:
    """Every metric per area `segments` codes deep (default: the children) under an area, by code."""
    depth = (segments - 1) if segments else len(parent_path.strip("/").split("/"))
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, metric, n in conn.execute(select(PeopleRollup.area_path, PeopleRollup.metric, PeopleRollup.n)
                                        .where(subtree(PeopleRollup.area_path, parent_path))):
        parts = path.strip("/").split("/")
        if len(parts) > depth:
            out[parts[depth]][metric] += n
    return {k: dict(v) for k, v in out.items()}
