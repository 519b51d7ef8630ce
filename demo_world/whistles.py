"""Demo 吹哨报到 history: departments whistled in on closed events, with believable 报到 and reply times.

Only closed events get whistles here (most answered with 报到 and 回复, a few 退回, a few never
报到), so the demo's 部门响应 page has figures from the start without raising any warning of its own
(only open events are coloured). Departments differ: utilities and the fire station 报到 within the
hour, regulators take most of a day.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np

from governance.events.participation import load_participation

# Median minutes to 报到 by department kind (taxonomy.yaml `kind`); spread is log-normal.
REPORT_MEDIAN = {"emergency": 12, "utility": 35, "police": 25, "property": 60, "enforcement": 90,
                 "subdistrict": 120, "health": 180, "regulator": 420}
HAND_BACK = 0.06
NEVER = 0.04  # never 报到'd: counted as 超时未报到 on the 部门响应 page
REASONS = ["非本部门职责，建议转城管执法", "已由物业自行处置，无需本部门到场", "属地社区可自行处理"]


def whistle_rows(events: list[dict], taxonomy, rng: np.random.Generator) -> list[dict]:
    """Whistle rows for the closed events that named a department (assignee_department_code)."""
    rules = load_participation()
    rows = []
    for ev in events:
        code, start, closed = ev.get("assignee_department_code"), ev.get("dispatched_at"), ev.get("closed_at")
        if not code or start is None or closed is None or ev.get("status") != "closed":
            continue
        kind = taxonomy.departments.get(code, {}).get("kind", "regulator")
        report = start + timedelta(minutes=float(rng.lognormal(np.log(REPORT_MEDIAN.get(kind, 120)), 0.8)))
        row = {"event_id": ev["id"], "department_code": code, "area_path": ev["area_path"], "status": "replied",
               "created_at": start, "created_by": "街道指挥中心", "due_at": rules.report_deadline(ev["severity"], start),
               "checked_in_at": min(report, closed), "checked_in_by": taxonomy.departments.get(code, {}).get("name"),
               "replied_at": None, "reply": None, "handed_back_at": None, "hand_back_reason": None}
        luck = rng.random()
        if luck < NEVER:
            row.update(status="pending", checked_in_at=None, checked_in_by=None)
        elif luck < NEVER + HAND_BACK:
            row.update(status="handed_back", handed_back_at=row["checked_in_at"],
                       hand_back_reason=REASONS[int(rng.integers(len(REASONS)))])
        else:
            reply = report + timedelta(minutes=float(rng.lognormal(np.log(240), 0.9)))
            row.update(replied_at=min(max(reply, row["checked_in_at"]), closed), reply="已到场处置，情况已反馈社区")
        rows.append(row)
    return rows
