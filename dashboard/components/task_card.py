"""A worker's task card (phone): what and where (address, a small map of the micro-grid and the point),
the deadline with its date and 超期 N 天, the event's earlier notes, and the worker's actions.

The actions are plain buttons and a camera input that assets/worker_queue.js handles: every tap is
kept on the phone first (待发送) and sent to /api/v1/worker/actions when there is signal.
"""
from __future__ import annotations

import json
from datetime import datetime

import dash_leaflet as dl
import shapely.geometry
from dash import dcc, html

from data_sources.registry import actor_label
from governance.geo import geometry_wgs84_to_gcj02
from governance.task_links import FIELD as LINK_FIELD
from governance.timeutil import format_local, format_overdue, format_when
from governance.workflow import STATES
from layers import MAP_JS

from ..geo_routes import display_datum, to_display
from .event_detail import history_change

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
    if detail.get("lat") is None or detail.get("lon") is None:
        return None
    lon, lat = to_display(detail["lon"], detail["lat"])
    geometry = json.loads(detail["area_geometry"]) if detail.get("area_geometry") else None
    if geometry and display_datum() == "gcj02":
        geometry = shapely.geometry.mapping(geometry_wgs84_to_gcj02(shapely.geometry.shape(geometry)))
    children = [dl.CircleMarker(center=[lat, lon], radius=8,
                                pathOptions={"color": "#fff", "fillColor": "#e63946", "fillOpacity": 1})]
    if geometry:
        children.insert(0, dl.GeoJSON(data={"type": "Feature", "geometry": geometry, "properties": {}},
                                      style=MAP_JS("outlineStyle")))
    view = {"center": [lat, lon], "zoom": 17}
    if geometry:  # the whole micro-grid in view, the point inside it
        x0, y0, x1, y1 = shapely.geometry.shape(geometry).union(shapely.geometry.Point(lon, lat)).bounds
        view = {"bounds": [[y0, x0], [y1, x1]], "boundsOptions": {"padding": [12, 12]}}
    return dl.MapContainer(children=children, className="task-map", attributionControl=False, zoomControl=False,
                           preferCanvas=True, **view)


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
