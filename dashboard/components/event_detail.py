"""Event detail: what, where, deadline, warning reasons and the full history — as text."""
from __future__ import annotations

import json

import dash_leaflet as dl
import shapely.geometry
from dash import html

from governance.geo import geometry_wgs84_to_gcj02
from governance.privacy import mask_name, mask_phone
from governance.timeutil import format_local
from governance.warnings import LABELS
from governance.workflow import LEVELS, SEVERITIES, STATES
from layers import MAP_JS

from ..geo_routes import display_datum, to_display
from .dispatch_panel import dispatch_panel
from .event_list import SOURCE_LABELS

FIELD_LABELS = {"status": "状态", "source_status": "源系统状态", "duplicate_of_id": "关联重复",
                "closed_at": "办结时间", "satisfaction": "满意度", "due_at": "办理时限",
                "handling_level": "处置层级", "assignee_staff_id": "承办人"}


def _value(field: str, value) -> str:
    if value is None:
        return "—"
    if field == "status":
        return STATES.get(value, value)
    return str(value)


def reporter_cell(detail: dict, principal) -> list:
    """The reporter, masked; roles allowed to unmask get a button that reveals it (and is logged)."""
    masked = f"{mask_name(detail.get('reporter_name'))} {mask_phone(detail.get('reporter_phone'))}".strip() or "—"
    cell = [html.Span(masked, id={"type": "reporter", "event": detail["id"]}, className="reporter")]
    if principal.can("unmask") and masked != "—":
        cell.append(html.Button("显示完整信息（留痕）", id={"type": "unmask", "event": detail["id"]}, n_clicks=0,
                                className="link-button unmask"))
    return cell


def event_detail_view(detail: dict, warning: tuple[str, list[str]] | None, principal) -> list:
    """The detail panel's children for one event as `principal` may see it (citizen text as plain text)."""
    level, reasons = warning or ("none", [])
    geometry = json.loads(detail["area_geometry"]) if detail.get("area_geometry") else None
    minimap = None
    if detail.get("lat") is not None:
        lon, lat = to_display(detail["lon"], detail["lat"])
        if geometry and display_datum() == "gcj02":
            geometry = shapely.geometry.mapping(geometry_wgs84_to_gcj02(shapely.geometry.shape(geometry)))
        children = [dl.CircleMarker(center=[lat, lon], radius=8,
                                    pathOptions={"color": "#fff", "fillColor": "#e63946", "fillOpacity": 1})]
        if geometry:
            children.insert(0, dl.GeoJSON(data={"type": "Feature", "geometry": geometry, "properties": {}},
                                          style=MAP_JS("outlineStyle")))
        minimap = dl.MapContainer(children=children, center=[lat, lon], zoom=16,
                                  className="detail-map", attributionControl=False, preferCanvas=True)
    history = [html.Li([html.Span(format_local(h["at"], "%m-%d %H:%M"), className="hist-time"),
                        html.Span(h["action"], className="hist-action"),
                        html.Span(f"{FIELD_LABELS.get(h['field'], h['field'])}：{_value(h['field'], h['from_value'])}"
                                  f" → {_value(h['field'], h['to_value'])}", className="hist-change"),
                        html.Span(SOURCE_LABELS.get(h["actor"], h["actor"]), className="hist-actor"),  # a feed: its label
                        html.Span(h["note"] or "", className="hist-note")])
               for h in detail["history"]]
    facts = [
        ("类别", detail["category"]), ("来源", f"{SOURCE_LABELS.get(detail['source'], detail['source'])} · {detail.get('channel') or ''}"),
        ("编号", detail["source_key"]), ("地点", " / ".join(detail["chain"][2:]) or detail["address"] or "网格外"),
        ("状态", STATES.get(detail["status"], detail["status"])),
        ("等级", SEVERITIES.get(detail["severity"], "")), ("处置层级", LEVELS.get(detail["handling_level"], "")),
        ("上报", format_local(detail["reported_at"], "%Y-%m-%d %H:%M")),
        ("时限", format_local(detail["due_at"], "%Y-%m-%d %H:%M")),
        ("承办人", detail.get("assignee") or "—"),
        ("报事人", reporter_cell(detail, principal)),
    ]
    return [
        html.Div(className="detail-head", children=[
            html.Span(LABELS[level], className=f"warn-badge big lv-{level}"),
            html.H3(detail["title"], className="detail-title"),
        ]),
        html.Ul([html.Li(r, className="detail-reason") for r in reasons], className="detail-reasons")
        if reasons else None,
        html.Div(className="detail-body", children=[
            html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))], className="detail-facts"),
            minimap,
        ]),
        html.P(detail["description"], className="detail-description"),
        html.Div(id={"type": "dispatch-panel", "event": detail["id"]}, className="dispatch-panel",
                 children=dispatch_panel(detail)) if principal.can("dispatch") else None,
        html.H4("流转记录"),
        html.Ul(history, className="detail-history"),
    ]

