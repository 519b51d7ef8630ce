"""The latest-events list: newest first, each row opens its event; citizen text always plain text."""
from __future__ import annotations

from datetime import datetime

from dash import html

from data_sources.registry import source_colour, source_label, source_short
from governance.core.timeutil import format_local, format_when
from governance.core.workflow import SEVERITIES, STATES


def now_utc() -> datetime:
    """The web process's current time (naive UTC; the tests install a fixed clock)."""
    from dashboard.runtime import current

    return current().now()


def source_chip(code: str, channel: str | None = None) -> html.Span:
    """A feed's short name on its declared colour (data_sources.registry); the full name on hover."""
    title = source_label(code) + (f" · {channel}" if channel and channel != source_short(code) else "")
    return html.Span(source_short(code), className=f"event-source src-chip src-{code}", title=title,
                     style={"--src": source_colour(code)})


def event_row(ev: dict, now: datetime | None = None) -> html.Li:
    """One list row — source, category, status; time and address — as one button that opens the event."""
    now = now or now_utc()
    return html.Li(className="event-item", children=html.Button(
        className=f"event-row event-open sev-{ev['severity']}", **{"data-event": str(ev["id"])},
        title=f"{ev['title']}（点击查看详情）", children=[
            source_chip(ev["source"], ev.get("channel")),
            html.Span(ev["category"], className="event-category"),
            html.Span(STATES.get(ev["status"], ev["status"]), className=f"event-status st-{ev['status']}",
                      title=SEVERITIES.get(ev["severity"], "")),
            html.Span(className="event-meta", children=[
                html.Span(format_when(ev["reported_at"], now), className="event-time",
                          title=format_local(ev["reported_at"], "%Y-%m-%d %H:%M")),
                html.Span(ev["address"], className="event-address"),
            ]),
        ]))


def event_list(events: list[dict], now: datetime | None = None) -> list[html.Li]:
    """Rows for the latest-events panel (an empty-state row when there are none)."""
    if not events:
        return [html.Li("暂无事件", className="event-item empty")]
    now = now or now_utc()
    return [event_row(ev, now) for ev in events]
