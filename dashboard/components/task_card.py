"""A worker's task card (phone): what and where (address, a small map of the micro-grid and the point),
the deadline with its date and 超期 N 天, the event's earlier notes, and the worker's actions.

The actions are plain buttons and a camera input that assets/worker_queue.js handles: every tap is
kept on the phone first (待发送) and sent to /api/v1/worker/actions when there is signal.
"""
from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from data_sources.registry import actor_label
from governance.events.task_links import FIELD as LINK_FIELD
from governance.core.timeutil import format_local, format_overdue, format_when
from governance.core.workflow import STATES

from .event_detail import history_change
from .point_map import point_map

# Buttons per status: (kind sent to the server, label, primary?).
ACTIONS = {"assign": [("handle", "签收", True)],
           "handle": [("progress", "记录进展", False), ("feedback", "提交结果", True)]}
EARLIER_NOTES = 12  # the newest history entries shown on a card


def deadline_line(status: str, due: datetime | None, now: datetime) -> list:
    """'协同处置 · 时限 2026-11-20 18:00' and a red '超期 N 天' once the deadline has passed."""
    late = format_overdue(due, now)
    return [f"{STATES.get(status, status)} · 时限 {format_local(due, '%Y-%m-%d %H:%M') if due else '—'}",
            html.Span(late, className="overdue-badge") if late else None]


def where_text(detail: dict) -> str:
    """The address a worker walks to: the reported address, else the micro-grid's chain of names."""
    chain = " / ".join(detail.get("chain", [])[3:])
    address = (detail.get("address") or "").strip()
    return " · ".join(x for x in (address, chain) if x) or "位置未知"


def task_map(detail: dict):
    """A small map without tiles: the micro-grid's outline and the event's point (None without a point)."""
    return point_map(detail, "task-map")


def earlier_notes(detail: dict, now: datetime) -> list:
    """The event's history as the worker reads it, newest first (link issue/revoke rows left out)."""
    items = []
    for h in reversed(detail.get("history", [])):
        if h["field"] == LINK_FIELD:
            continue
        change, note = history_change(h, now, detail.get("department_names") or {})
        items.append(html.Li([
            html.Span(format_when(h["at"], now), className="hist-time", title=format_local(h["at"], "%Y-%m-%d %H:%M")),
            html.Span(h["action"], className="hist-action"), html.Span(actor_label(h["actor"]), className="hist-actor"),
            html.Div(" ".join(x for x in (change, note) if x), className="hist-note")]))
        if len(items) >= EARLIER_NOTES:
            break
    return items


def task_card(detail: dict, now: datetime) -> list:
    """The card's children for one task (citizen text as plain text)."""
    eid, status = detail["id"], detail["status"]
    acting = status == "handle"
    notes = earlier_notes(detail, now)
    return [
        html.H3(detail["title"], className="task-title"),
        html.P(["地址：", where_text(detail)], className="task-where"),
        html.P(deadline_line(status, detail.get("due_at"), now), className="task-state"),
        html.P(detail.get("description") or "", className="task-desc"),
        task_map(detail),
        dcc.Textarea(id={"type": "w-note", "event": eid}, placeholder="处置说明", className="w-note",
                     style={} if acting else {"display": "none"}),
        html.Div(className="w-photo-slot", **{"data-event": str(eid)}) if acting else None,
        html.Div(className="w-buttons", children=[
            html.Button(label, className="action-button w-act" + (" primary" if primary else ""), n_clicks=0,
                        **{"data-event": str(eid), "data-kind": kind})
            for kind, label, primary in ACTIONS.get(status, [])]),
        html.Details([html.Summary(f"早先记录（{len(notes)}）"), html.Ul(notes, className="detail-history task-history")],
                     className="task-notes", open=bool(notes)),
    ]
