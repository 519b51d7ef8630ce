"""Generate event history per feed: daily/weekly rhythm, seasons, trend, realistic lifecycles."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from data_sources.registry import source_short
from governance.alerts.warnings import load_rules
from governance.core.taxonomy import Taxonomy
from governance.core.timeutil import to_local, to_utc_naive

# Events per micro-grid per year, by source, and which categories each source reports.
SOURCES = {
    "cases": {"per_grid_year": 8.0, "trend_per_year": -0.21, "weekend": 1.05,
              "hours": [1, 1, 0, 0, 0, 1, 2, 5, 9, 11, 11, 9, 7, 8, 9, 9, 8, 7, 7, 8, 8, 6, 4, 2],
              "categories": {"2101": 14, "2102": 9, "2103": 6, "2104": 5, "2201": 7, "2202": 5,
                             "2203": 6, "0501": 6, "0502": 8, "0503": 3, "0505": 3, "0102": 4,
                             "0103": 4, "0301": 5, "0302": 2, "1101": 2, "1301": 3, "0403": 2,
                             "0402": 2, "3103": 1}},
    "safety": {"per_grid_year": 5.0, "trend_per_year": 0.05, "weekend": 0.25,
               "hours": [0, 0, 0, 0, 0, 0, 0, 1, 6, 12, 13, 11, 4, 6, 12, 13, 11, 6, 1, 0, 0, 0, 0, 0],
               "categories": {"1101": 6, "1102": 10, "1201": 12, "1202": 11, "1203": 12, "1204": 9,
                              "1301": 3, "1302": 5, "0504": 3, "0401": 1}},
    "grid_events": {"per_grid_year": 7.0, "trend_per_year": 0.10, "weekend": 0.7,
                    "hours": [0, 0, 0, 0, 0, 0, 1, 3, 9, 12, 11, 8, 4, 6, 10, 11, 10, 8, 6, 4, 2, 1, 0, 0],
                    "categories": {"0101": 3, "0102": 8, "0103": 8, "0104": 7, "0105": 3, "0201": 9,
                                   "0202": 4, "0501": 8, "0502": 6, "0503": 4, "2201": 8, "1202": 4,
                                   "1203": 4, "3101": 6, "3102": 3, "3103": 2, "1101": 1}},
}
# Seasonal peaks: category -> (peak month, amplitude); weight multiplier 1 + a·cos(season).
SEASONS = {"2102": (7, 0.5), "2101": (8, 0.35), "0105": (7, 0.8), "1101": (1, 0.6), "1102": (1, 0.4),
           "1202": (7, 0.3), "1203": (1, 0.3), "0403": (7, 0.95), "0402": (1, 0.4), "3101": (1, 0.35),
           "0302": (3, 0.5), "0301": (5, 0.3), "3103": (9, 0.6)}
# Share of events that become long, hard cases (违建, 油烟, disputes linger).
STUCK = {"0101": 0.6, "2102": 0.4, "2104": 0.35, "2203": 0.4, "0302": 0.3, "1204": 0.3}
DEFAULT_STUCK = 0.3
# Severe hazards (严重/紧急: gas, fire lanes, falling objects) are handled at once: few become hard
# cases, and those are settled within weeks, not months.
SEVERE = 3
SEVERE_STUCK = 0.04
SEVERE_CAP_DAYS = 21
# 延期办理: a hard case of lower severity applies, before its deadline runs out, for an extension
# to a new deadline some weeks or months ahead (违建 and 油烟 take months). Most are granted a term
# long enough; EXTENSION_SHORT of them still run past it. Severe hazards are never extended.
EXTENSION_DAYS = (15, 30, 60, 90, 180, 365)
EXTENSION_AT = 0.8       # applied for when this share of the original time limit has passed
EXTENSION_SHORT = 0.25
STUCK_ALPHA = 0.35       # Pareto tail of hard cases' handling time (smaller = longer tail)
STUCK_CAP_DAYS = 365  # hard cases close within a year (older backlogs are written off)
# Channels a feed's events arrive by; a feed with a single channel names it by its short label (as its
# connector does). Actors are the feed's code, shown by its label (data_sources.registry).
CHANNEL_MIX = {"cases": (["12345", "蓉e报"], [0.6, 0.4])}
KEY_PREFIX = {"cases": "SQ", "safety": "AQ", "grid_events": "DLD"}
TEMPLATES = {
    "2101": "{place}夜间持续有噪音，影响居民休息，请核实处理。",
    "2102": "{place}底商餐馆油烟直排，楼上住户窗户无法打开，多次反映。",
    "2103": "{place}有居民遛狗不牵绳，犬只吠叫扰民。",
    "2201": "{place}楼道堆放纸箱、旧家具等杂物，占用疏散通道。",
    "1101": "{place}住户反映楼道内有明显燃气异味，请尽快排查。",
    "1202": "{place}有住户从楼上拉线给电动车充电（飞线充电）。",
    "1201": "{place}消防通道被车辆和杂物堵塞。",
    "1301": "{place}有人从高处往下扔垃圾，险些砸到行人。",
    "0503": "{place}路沿石破损松动，行人易绊倒。",
    "0501": "{place}门口有流动摊贩占道经营。",
    "3101": "{place}独居老人多日未见出门，请网格员上门探视。",
}


@dataclass
class GridInfo:
    """What the history generator needs to know about the micro-grids."""

    ids: np.ndarray          # area ids
    paths: list[str]
    names: list[str]         # full display address of the micro-grid
    households: np.ndarray
    community_idx: np.ndarray
    points: np.ndarray       # (n_grids, k, 2) pool of interior points
    worker_ids: np.ndarray   # micro-grid worker staff id per grid


def _season(code: str, doy: np.ndarray) -> np.ndarray:
    peak, amp = SEASONS.get(code, (1, 0.0))
    peak_doy = (peak - 1) * 30.4 + 15
    return 1.0 + amp * np.cos(2 * np.pi * (doy - peak_doy) / 365.25)


def generate_events(grids: GridInfo, taxonomy: Taxonomy, start: datetime, now: datetime,
                    rng: np.random.Generator, first_id: int = 1, volume: float = 1.0):
    """Return (event rows, audit rows) from `start` to `now` (naive UTC) for the given grids."""
    n_grids = len(grids.ids)
    comm_hot = rng.gamma(4.0, 0.25, grids.community_idx.max() + 1)
    grid_w = grids.households * rng.gamma(1.3, 1 / 1.3, n_grids) * comm_hot[grids.community_idx]
    grid_p = grid_w / grid_w.sum()
    local_start = to_local(start).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    n_days = (to_local(now).replace(tzinfo=None) - local_start).days + 1
    days = np.array([local_start + timedelta(days=i) for i in range(n_days)])
    doy = np.array([d.timetuple().tm_yday for d in days], float)
    dow = np.array([d.isoweekday() for d in days])
    years_before_now = (n_days - 1 - np.arange(n_days)) / 365.25

    rows: list[dict] = []
    audits: list[dict] = []
    next_id = first_id
    seq = {s: 0 for s in SOURCES}
    for source, spec in SOURCES.items():
        codes = list(spec["categories"])
        base_w = np.array([spec["categories"][c] for c in codes], float)
        season_w = np.stack([_season(c, doy) for c in codes], axis=1) * base_w  # days × cats
        season_w /= season_w.sum(axis=1, keepdims=True)
        daily = spec["per_grid_year"] * volume * n_grids / 365.25
        trend = (1 + spec["trend_per_year"]) ** (-years_before_now)
        week = np.where(dow >= 6, spec["weekend"], 1.0)
        lam = daily * trend * week * rng.gamma(20, 1 / 20, n_days)
        counts = rng.poisson(lam)
        hours_p = np.array(spec["hours"], float) / sum(spec["hours"])
        chans, chan_p = CHANNEL_MIX.get(source, ([source_short(source)], [1.0]))
        for di in np.nonzero(counts)[0]:
            k = int(counts[di])
            cats = rng.choice(len(codes), size=k, p=season_w[di])
            gidx = rng.choice(n_grids, size=k, p=grid_p)
            secs = rng.choice(24, size=k, p=hours_p) * 3600 + rng.integers(0, 3600, k)
            for j in range(k):
                local_t = days[di] + timedelta(seconds=int(secs[j]))
                reported = to_utc_naive(local_t)
                if reported > now:
                    continue
                seq[source] += 1
                code = codes[int(cats[j])]
                ev, trail = _lifecycle(next_id, source, code, int(gidx[j]), reported, now, grids,
                                       taxonomy, rng, seq[source], chans, chan_p)
                rows.append(ev)
                audits.extend(trail)
                next_id += 1
    _link_duplicates(rows, audits, rng)
    return rows, audits


def _lifecycle(eid, source, code, g, reported, now, grids, taxonomy, rng, seq, chans, chan_p):
    cat = taxonomy.categories[code]
    severity = min(4, cat.severity + int(rng.random() < 0.1))
    sla = cat.sla_hours * (0.5 if severity > cat.severity else 1.0)
    sla = min(sla, load_rules().sla_tiers_hours.get(severity, sla))  # 紧急 2 h, 严重 24 h (governance.events.deadlines)
    due = reported + timedelta(hours=sla)
    sla_due = due  # the original time limit: residents judge the handling by it
    extended = None
    severe = severity >= SEVERE
    if rng.random() < (SEVERE_STUCK if severe else STUCK.get(code, DEFAULT_STUCK)):
        cap = SEVERE_CAP_DAYS if severe else STUCK_CAP_DAYS
        duration = min(sla * 3.0 * (1.0 + rng.pareto(STUCK_ALPHA)), 24 * cap)
        if not severe:
            extended = _extension(duration, sla, rng)
    else:
        duration = sla * rng.lognormal(np.log(0.35), 0.6)
    closed_at = reported + timedelta(hours=float(duration))
    returned = rng.random() < 0.03
    point = grids.points[g, int(rng.integers(grids.points.shape[1]))]
    channel = chans[int(rng.choice(len(chans), p=chan_p))]
    level = cat.level
    if rng.random() < 0.08:
        level = {"grid": "community", "community": "subdistrict"}.get(level, level)
    place = grids.names[g]
    desc = TEMPLATES.get(code, "{place}发现“" + cat.name + "”问题，请核实处置。").format(place=place)
    ev = {
        "id": eid, "source": source, "source_key": f"{KEY_PREFIX[source]}{reported:%Y%m%d}{seq:06d}",
        "channel": channel, "category_code": code, "title": f"{cat.name}｜{place}",
        "description": desc, "lon": float(point[0]), "lat": float(point[1]), "address": place,
        "area_id": int(grids.ids[g]), "area_path": grids.paths[g], "outside_grid": False,
        "severity": severity, "handling_level": level, "reported_at": reported, "due_at": due,
        "dispatched_at": None, "accepted_at": None, "closed_at": None, "satisfaction": None,
        "assignee_staff_id": None, "assignee_department_code": None, "duplicate_of_id": None,
        "is_drill": False, "raw_payload": None, "reporter_name": None, "reporter_phone": None,
    }
    if source == "cases":
        from .names import person_name, phone_number
        ev["reporter_name"] = person_name(rng)
        ev["reporter_phone"] = phone_number(rng)
    trail = [(reported, "collect", source, "上报")]  # the feed, named by its label on screen
    # each step after the one before: discovery never later than the dispatch (min(0.12 d, 0.2 sla))
    t_discover = reported + timedelta(hours=float(min(duration * 0.05, 2.0, sla * 0.1)))
    t_assign = reported + timedelta(hours=float(min(duration * 0.12, sla * 0.2)))
    t_accept = t_assign + timedelta(hours=float(min(duration * 0.08, sla * 0.2)))
    t_feedback = reported + timedelta(hours=float(duration * 0.9))
    if returned:
        t_ret = reported + timedelta(hours=float(rng.uniform(0.2, 6)))
        if t_ret <= now:
            trail.append((t_ret, "returned", "街道指挥中心", "退回"))
    else:
        for t, state, label in ((t_discover, "discover", "核实立案"), (t_assign, "assign", "派单"),
                                (t_accept, "handle", "签收"), (t_feedback, "feedback", "提交结果"),
                                (closed_at, "closed", "核查办结")):
            if t > now:
                break
            trail.append((t, state, source if state == "discover" else "网格员", label))
    status = trail[-1][1]
    ev["status"] = status
    t_extend = reported + timedelta(hours=sla * EXTENSION_AT)
    extension = None
    if extended is not None and not returned and t_extend <= now and len(trail) > 3:
        ev["due_at"] = due = reported + timedelta(days=extended)
        extension = (t_extend, sla_due, due)
    ev["updated_at"] = trail[-1][0]
    if len(trail) > 2 and not returned:
        ev["dispatched_at"] = t_assign
        ev["assignee_staff_id"] = int(grids.worker_ids[g])
        if cat.departments and rng.random() < 0.4:
            ev["assignee_department_code"] = cat.departments[int(rng.integers(len(cat.departments)))]
    if len(trail) > 3 and not returned:
        ev["accepted_at"] = t_accept
    if status == "closed":
        ev["closed_at"] = closed_at
        if source == "cases" and rng.random() < 0.75:
            p = [0.01, 0.02, 0.05, 0.22, 0.70] if closed_at <= sla_due else [0.05, 0.10, 0.15, 0.30, 0.40]
            ev["satisfaction"] = int(rng.choice(5, p=p)) + 1
    audits = []
    prev = None
    for t, state, who, label in trail:
        audits.append({"event_id": eid, "at": t, "actor": who, "action": label, "field": "status",
                       "from_value": prev, "to_value": state, "note": None})
        prev = state
    if extension is not None:
        t, old_due, new_due = extension
        audits.append({"event_id": eid, "at": t, "actor": "网格员", "action": "延期办理", "field": "due_at",
                       "from_value": old_due.isoformat(sep=" "), "to_value": new_due.isoformat(sep=" "),
                       "note": f"疑难件申请延期，批准延至 {to_local(new_due):%Y-%m-%d}"})
        audits.sort(key=lambda a: a["at"])
    return ev, audits


def _extension(duration_hours: float, sla_hours: float, rng) -> int | None:
    """Days of the extended deadline of a hard case (None when the original limit is long enough)."""
    days = duration_hours / 24
    steps = [d for d in EXTENSION_DAYS if d * 24 > sla_hours]
    if not steps:
        return None
    enough = [d for d in steps if d >= days] or steps[-1:]
    if rng.random() < EXTENSION_SHORT:
        shorter = [d for d in steps if d < days]
        return shorter[-1] if shorter else enough[0]
    return enough[0]


def _link_duplicates(rows: list[dict], audits: list[dict], rng) -> None:
    """Add cross-source duplicates: the same problem reported again to another feed within a day."""
    if not rows:
        return
    other = {"cases": "safety", "safety": "cases", "grid_events": "cases"}
    next_id = rows[-1]["id"] + 1
    picks = rng.choice(len(rows), size=max(1, len(rows) // 60), replace=False)
    for i in sorted(picks):
        orig = rows[i]
        if orig["status"] != "closed":
            continue
        dup = dict(orig)
        dup.update(id=next_id, source=other[orig["source"]],
                   source_key=f"{KEY_PREFIX[other[orig['source']]]}D{orig['id']:08d}",
                   reported_at=orig["reported_at"] + timedelta(hours=float(rng.uniform(0.5, 20))),
                   duplicate_of_id=orig["id"], satisfaction=None,
                   lon=orig["lon"] + rng.normal(0, 0.0001), lat=orig["lat"] + rng.normal(0, 0.0001))
        dup["updated_at"] = max(dup["reported_at"], orig["updated_at"])
        dup["closed_at"] = max(dup["reported_at"], orig["closed_at"])
        rows.append(dup)
        audits.append({"event_id": next_id, "at": dup["reported_at"], "actor": "系统", "action": "关联重复",
                       "field": "duplicate_of_id", "from_value": None, "to_value": str(orig["id"]),
                       "note": "同类事件 50 米、24 小时内重复上报"})
        audits.append({"event_id": next_id, "at": dup["closed_at"], "actor": "系统", "action": "随主件办结",
                       "field": "status", "from_value": "collect", "to_value": "closed", "note": None})
        next_id += 1
