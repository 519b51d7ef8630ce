"""分级预控 in the seeded history: open events carry the escalations the clock would have produced."""
from __future__ import annotations

from datetime import datetime, timedelta

from governance.alerts.escalation import ORDER
from governance.core.taxonomy import Taxonomy
from governance.core.workflow import LEVELS, OPEN_STATES


def replay_escalations(events: list[dict], taxonomy: Taxonomy, now: datetime) -> list[dict]:
    """Set each open event's handling level and level clock as the scheduler would have left them
    (one level up per SLA spent at a level, each at its own time), and return their audit rows.

    Without this the first scheduler run escalated thousands of events at once, all stamped at start,
    and left more events at 街道 than at 网格. Closed events keep their level (where they were closed).
    """
    audits = []
    for ev in events:
        ev.setdefault("level_since", None)
        if ev["status"] not in OPEN_STATES or ev.get("is_drill"):
            continue
        sla = timedelta(hours=taxonomy.categories[ev["category_code"]].sla_hours)
        level, since = ev["handling_level"], ev["reported_at"]
        while level != ORDER[-1] and now - since > sla:
            since += sla
            new = ORDER[ORDER.index(level) + 1]
            audits.append({"event_id": ev["id"], "at": since, "actor": "系统（分级预控）", "action": "自动升级",
                           "field": "handling_level", "from_value": level, "to_value": new,
                           "note": f"在{LEVELS[level]}层级超过办理时限（{sla.total_seconds() / 3600:g} 小时）未办结"})
            level = new
        ev["handling_level"], ev["level_since"] = level, since
    return audits
