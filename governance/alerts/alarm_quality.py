"""预警质量: alarm performance from the warning table (EEMUA 191 / ISA-18.2 style key figures)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from .alarm_mgmt import AlarmRules, community_code
from ..models import Area, RaisedWarning
from ..core.scope import subtree
from .warnings import LEVELS

# Targets the page and the bench compare against (issue #18; EEMUA 191 / ISA-18.2).
TARGETS = {"red_share": 0.05, "orange_share": 0.15, "new_high_per_community_hour": 6.0,
           "flood_window_share": 0.01}


@dataclass
class AlarmQuality:
    """Key figures of alarm performance for a scope over a period."""

    since: datetime
    until: datetime
    hours: float
    raised: int = 0
    per_community_hour: dict[str, float] = field(default_factory=dict)      # community name → alarms / hour
    high_per_community_hour: float = 0.0                                      # new red+orange / community / hour
    windows: int = 0
    flood_windows: int = 0
    active_levels: dict[str, int] = field(default_factory=dict)             # on the action list now
    top: list[tuple[str, int]] = field(default_factory=list)                # (what, times raised)
    standing: list[dict] = field(default_factory=list)                      # open > standing_hours
    standing_total: int = 0
    chattering: list[tuple[str, int]] = field(default_factory=list)         # (subject, raises)
    mean_ack_minutes: float | None = None
    mean_clear_minutes: float | None = None
    supervised: int = 0
    shelved: int = 0

    @property
    def flood_share(self) -> float:
        """Share of (community × 10-minute) windows with a flood."""
        return self.flood_windows / self.windows if self.windows else 0.0

    def share(self, level: str) -> float:
        """Share of active warnings at a level."""
        total = sum(self.active_levels.values())
        return self.active_levels.get(level, 0) / total if total else 0.0


def _minutes(deltas: list[timedelta]) -> float | None:
    return sum(d.total_seconds() for d in deltas) / 60 / len(deltas) if deltas else None


def alarm_quality(conn: Connection, scope_path: str, now: datetime, rules: AlarmRules,
                  hours: float = 24) -> AlarmQuality:
    """Alarm rate, floods, top offenders, standing and chattering alarms, time to acknowledge and clear."""
    since = now - timedelta(hours=hours)
    q = AlarmQuality(since=since, until=now, hours=hours)
    names = dict(conn.execute(select(Area.code, Area.name).where(subtree(Area.path, scope_path),
                                                                 Area.level.in_(("community", "micro_grid")))).all())
    communities = [c for (c,) in conn.execute(select(Area.code).where(subtree(Area.path, scope_path),
                                                                      Area.level == "community"))]
    rows = conn.execute(select(RaisedWarning).where(
        subtree(RaisedWarning.area_path, scope_path), RaisedWarning.kind.in_(("event", "grid")),
        or_(RaisedWarning.raised_at >= since, RaisedWarning.cleared_at.is_(None), RaisedWarning.cleared_at >= since))).all()
    first = conn.execute(select(RaisedWarning.raised_at).order_by(RaisedWarning.raised_at).limit(1)).scalar()
    new = [r for r in rows if r.raised_at >= since and (first is None or r.raised_at > first)]
    q.raised = len(new)
    per_comm = Counter(community_code(r.area_path) for r in new)
    q.per_community_hour = {names.get(c, c): per_comm.get(c, 0) / hours for c in communities}
    high = sum(1 for r in new if r.level in ("red", "orange"))
    q.high_per_community_hour = high / max(len(communities), 1) / hours
    minutes = rules.flood_minutes
    slots = defaultdict(Counter)
    for r in new:
        slots[community_code(r.area_path)][int((r.raised_at - since).total_seconds() // (minutes * 60))] += 1
    q.windows = len(communities) * max(1, int(hours * 60 // minutes))
    q.flood_windows = sum(1 for c in slots.values() for n in c.values() if n > rules.flood_count)
    open_rows = [r for r in rows if r.cleared_at is None]
    listed = [r for r in open_rows if r.supervised_at is None and r.flood_id is None
              and not (r.shelved_until is not None and r.shelved_until > now)]
    q.active_levels = {lv: n for lv, n in Counter(r.level for r in listed).items()}
    q.active_levels = {lv: q.active_levels.get(lv, 0) for lv in LEVELS[1:]}
    q.supervised = sum(1 for r in open_rows if r.supervised_at is not None)
    q.shelved = sum(1 for r in open_rows if r.shelved_until is not None and r.shelved_until > now)
    q.top = Counter(((r.reasons or ["—"])[0]) for r in new).most_common(10)
    old = now - timedelta(hours=rules.standing_hours)
    # standing: on the action list (red/orange, what the warnings panel shows) for longer than a day
    standing = sorted((r for r in listed if r.raised_at < old and r.level in ("red", "orange")),
                      key=lambda r: r.raised_at)
    q.standing_total = len(standing)
    q.standing = [{"id": r.id, "kind": r.kind, "subject": r.subject, "level": r.level,
                   "area": names.get(community_code(r.area_path), ""), "reason": (r.reasons or [""])[0],
                   "hours": (now - r.raised_at).total_seconds() / 3600} for r in standing[:10]]
    chatter_since = now - timedelta(hours=rules.chatter_hours)
    raises = Counter((r.kind, r.subject) for r in rows if r.raised_at >= chatter_since)
    q.chattering = [(f"{'事件 #' if k == 'event' else '网格 '}{names.get(s, s)}", n)
                    for (k, s), n in raises.most_common() if n >= rules.chatter_raises][:10]
    q.mean_ack_minutes = _minutes([r.acknowledged_at - r.raised_at for r in rows
                                   if r.acknowledged_at is not None and r.acknowledged_at >= since])
    q.mean_clear_minutes = _minutes([r.cleared_at - r.raised_at for r in rows
                                     if r.cleared_at is not None and r.cleared_at >= since])
    return q
