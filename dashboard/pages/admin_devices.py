"""管理 · 大屏设备: wall displays of the admin's subtree: register, playlist editor with preview, rotate, revoke."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import area_name, area_options, button, clicked, frame, secret_note, table, when
from dashboard.runtime import current
from governance.accounts.admin_ops import (AdminError, list_devices, register_device, revoke_wall, rotate_wall,
                                  save_playlist)

dash.register_page(__name__, path="/admin/devices", title="大屏设备 · 网格驾驶舱", name="大屏设备")
ACCESS = "admin"
EXAMPLE = '[{"view": "#area=CODE", "seconds": 60}]'
METRICS = {"closure_rate": "办结率", "open": "在办", "warnings": "预警"}


def _devices() -> list[dict]:
    with current().engine.connect() as conn:
        return list_devices(conn, principal())


def devices_table(devices: list[dict]) -> html.Table:
    """Every wall with its state, last seen and actions."""
    rows = [[html.Td(d["name"]), html.Td(d["area_name"]), html.Td(len(d["playlist"] or [])),
             html.Td("已停用" if d["revoked_at"] else "在用", className="state-off" if d["revoked_at"] else "state-on"),
             html.Td(when(d["last_seen_at"])), html.Td(when(d["rotated_at"])),
             html.Td([] if d["revoked_at"] else [
                 button("换发链接", {"type": "adm-dev", "device": d["id"], "do": "rotate"}),
                 button("停用", {"type": "adm-dev", "device": d["id"], "do": "revoke"}, danger=True)])]
            for d in devices]
    return table(["名称", "区域", "轮播项", "状态", "最近在线", "上次换链接", "操作"], rows, "devices-table")


def _pick_options(devices: list[dict]) -> list[dict]:
    return [{"label": d["name"], "value": d["id"]} for d in devices if not d["revoked_at"]]


def layout(**_query):
    """Register form, the walls table, and the playlist editor."""
    devices = _devices()
    return frame("大屏设备", "/admin/devices",
                 html.Div(className="filters admin-form", children=[
                     dcc.Input(id="adm-dev-name", placeholder="设备名称（如 街道指挥室主屏）", className="search-box"),
                     dcc.Dropdown(id="adm-dev-area", placeholder="区域", options=area_options()),
                     html.Button("登记大屏", id="adm-dev-create", n_clicks=0, className="action-button primary")]),
                 html.Div(id="adm-dev-msg", className="admin-msg", role="status"),
                 html.Div(id="adm-dev-table", children=devices_table(devices)),
                 html.H2("轮播编辑"),
                 html.P("每项一个视图（#area=区域代码，可加 &metric=…&period=…）和停留秒数（≥ 10）；保存后正在运行的大屏在下次刷新时换用。",
                        className="hint"),
                 dcc.Dropdown(id="adm-dev-pick", placeholder="选择大屏", options=_pick_options(devices)),
                 dcc.Textarea(id="adm-playlist", placeholder=EXAMPLE, className="playlist-editor",
                              style={"width": "100%", "height": "8em", "fontFamily": "monospace"}),
                 html.Div(id="adm-playlist-preview", className="playlist-preview"),
                 html.Button("保存轮播", id="adm-playlist-save", n_clicks=0, className="action-button primary"))


@callback(Output("adm-dev-table", "children"), Output("adm-dev-msg", "children"), Output("adm-dev-pick", "options"),
          Input("adm-dev-create", "n_clicks"), Input({"type": "adm-dev", "device": ALL, "do": ALL}, "n_clicks"),
          Input("adm-playlist-save", "n_clicks"),
          State("adm-dev-name", "value"), State("adm-dev-area", "value"), State("adm-dev-pick", "value"),
          State("adm-playlist", "value"), prevent_initial_call=True)
@requires("admin")
def devices_action(_create, _rows, _save, name, area, picked, playlist):
    """Register, rotate or revoke a wall, or save the picked wall's playlist (then redraw)."""
    trigger, real = clicked(ctx)
    if not real:
        return no_update, no_update, no_update
    p, now = principal(), current().now()
    try:
        with current().engine.begin() as conn:
            if trigger == "adm-dev-create":
                link = register_device(conn, p, name or "", area or "", "[]", now)
                message = [html.P(f"已登记大屏 {name.strip()}，在大屏浏览器中打开以下链接。"), secret_note("大屏链接", link)]
            elif trigger == "adm-playlist-save":
                if not picked:
                    raise AdminError("请先选择大屏")
                saved = save_playlist(conn, p, picked, playlist or "[]", now)
                message = f"轮播已保存（{len(saved)} 项），大屏将在下次刷新时换用"
            elif trigger["do"] == "rotate":
                link = rotate_wall(conn, p, trigger["device"], now)
                message = [html.P("已换发链接：旧链接即刻作废，已在运行的大屏不受影响。"), secret_note("新大屏链接", link)]
            else:
                message = f"大屏 {revoke_wall(conn, p, trigger['device'], now)} 已停用"
    except AdminError as exc:
        return no_update, html.P(str(exc), className="auth-error"), no_update
    devices = _devices()
    return devices_table(devices), message, _pick_options(devices)


@callback(Output("adm-playlist", "value"), Input("adm-dev-pick", "value"), prevent_initial_call=True)
@requires("admin")
def playlist_load(device_id):
    """The picked wall's playlist as editable JSON."""
    device = next((d for d in _devices() if d["id"] == device_id), None)
    if device is None:
        return ""
    return json.dumps(device["playlist"] or [], ensure_ascii=False, indent=1)


@callback(Output("adm-playlist-preview", "children"), Input("adm-playlist", "value"), prevent_initial_call=True)
@requires("admin")
def playlist_preview(text):
    """What the wall will show, in order, read from the editor's text (errors are shown when saving)."""
    try:
        items = json.loads(text or "[]")
        steps = []
        for item in items:
            q = dict(parse_qsl(str(item.get("view", "")).lstrip("#")))
            what = area_name(q.get("area")) or q.get("area") or "大屏所在区域"
            extra = "，".join(v for v in (METRICS.get(q.get("metric", ""), q.get("metric")), q.get("period")) if v)
            steps.append(html.Li([f"{what}{'（' + extra + '）' if extra else ''} · {item.get('seconds', 60)} 秒 ",
                                  html.A("预览", href="/" + str(item.get("view")), target="_blank", rel="noopener",
                                         className="back-link") if str(item.get("view", "")).startswith("#") else ""]))
    except (ValueError, AttributeError, TypeError):
        return html.P("（JSON 尚不完整）", className="hint")
    return html.Ol(steps, className="playlist-steps") if steps else html.P("（空轮播：大屏停在所在区域）", className="hint")


@callback(Output("kiosk-playlist", "data"), Output("kiosk-tick", "disabled"),
          Input("cockpit-refresh", "n_intervals"), Input("live-version", "data"), State("kiosk-playlist", "data"),
          prevent_initial_call=True)
@requires("view_cockpit")
def wall_playlist(_n, _live, shown):
    """The wall's side of the editor: a running wall takes its saved playlist when its change stream says
    its session changed (within RECHECK_SECONDS), else at the next refresh."""
    p = principal()
    playlist = list(p.playlist)
    if p.kind != "kiosk" or playlist == (shown or []):
        return no_update, no_update
    return playlist, len(playlist) < 1
