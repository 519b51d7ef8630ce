"""The latest-events list: newest first, citizen text always rendered as plain text."""
from __future__ import annotations

from dash import html

from governance.timeutil import format_local
from governance.workflow import SEVERITIES, STATES

SOURCE_LABELS = {"cases": "诉求", "safety": "安全", "grid_events": "大联动", "open311": "Open311",
                 "push": "上报"}


def event_row(ev: dict) -> html.Li:
    """One list row: time, source, category, address and status of an event."""
    return html.Li(className=f"event-row sev-{ev['severity']}", children=[
        html.Span(format_local(ev["reported_at"], "%H:%M"), className="event-time",
                  title=format_local(ev["reported_at"], "%Y-%m-%d %H:%M")),
        html.Span(ev.get("channel") or SOURCE_LABELS.get(ev["source"], ev["source"]),
                  className=f"event-source src-{ev['source']}"),
        html.Span(ev["category"], className="event-category"),
        html.Span(ev["address"], className="event-address"),
        html.Span(STATES.get(ev["status"], ev["status"]), className=f"event-status st-{ev['status']}",
                  title=SEVERITIES.get(ev["severity"], "")),
    ])


def event_list(events: list[dict]) -> list[html.Li]:
    """Rows for the latest-events panel (an empty-state row when there are none)."""
    if not events:
        return [html.Li("暂无事件", className="event-row empty")]
    return [event_row(ev) for ev in events]
