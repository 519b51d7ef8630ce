"""管理 · 接入方: systems with a bearer token: push (事件推送) and portal embed (门户嵌入) clients."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import area_options, button, clicked, frame, secret_note, table, when
from dashboard.runtime import current
from governance.accounts.admin_ops import AdminError, create_api_client, list_clients, revoke_api_client, rotate_api_client
from governance.accounts.api_clients import SCOPE_LABELS

dash.register_page(__name__, path="/admin/clients", title="接入方 · 网格驾驶舱", name="接入方")
ACCESS = "admin"


def clients_table() -> html.Table:
    """Every client with its scopes, area, state, last use and actions."""
    with current().engine.connect() as conn:
        clients = list_clients(conn, principal())
    rows = [[html.Td(c["name"]), html.Td(" ".join(c["scopes"].split())), html.Td(c["area_name"] or "全市"),
             html.Td("已停用" if c["revoked_at"] else "在用", className="state-off" if c["revoked_at"] else "state-on"),
             html.Td(when(c["created_at"])), html.Td(when(c["last_used_at"])),
             html.Td([] if c["revoked_at"] else [
                 button("换发令牌", {"type": "adm-client", "client": c["id"], "do": "rotate"}),
                 button("停用", {"type": "adm-client", "client": c["id"], "do": "revoke"}, danger=True)])]
            for c in clients]
    return table(["名称", "权限", "区域", "状态", "创建", "最近使用", "操作"], rows, "clients-table")


def layout(**_query):
    """New-client form and the clients table."""
    return frame("接入方（推送与门户嵌入）", "/admin/clients",
                 html.Div(className="filters admin-form", children=[
                     dcc.Input(id="adm-client-name", placeholder="接入方名称（如 区门户）", className="search-box"),
                     dcc.Checklist(id="adm-client-scopes", options=[{"label": v, "value": k}
                                                                    for k, v in SCOPE_LABELS.items()], value=["embed"]),
                     dcc.Dropdown(id="adm-client-area", placeholder="嵌入区域", options=area_options(with_city=True)),
                     html.Button("新建接入方", id="adm-client-create", n_clicks=0, className="action-button primary")]),
                 html.P("令牌只在创建或换发时显示一次，库中只存其 SHA-256；换发后旧令牌立即失效。推送接入方对全市生效，只有全市管理员可以创建。",
                        className="hint"),
                 html.Div(id="adm-client-msg", className="admin-msg", role="status"),
                 html.Div(id="adm-client-table", children=clients_table()))


@callback(Output("adm-client-table", "children"), Output("adm-client-msg", "children"),
          Input("adm-client-create", "n_clicks"), Input({"type": "adm-client", "client": ALL, "do": ALL}, "n_clicks"),
          State("adm-client-name", "value"), State("adm-client-scopes", "value"), State("adm-client-area", "value"),
          prevent_initial_call=True)
@requires("admin")
def clients_action(_create, _rows, name, scopes, area):
    """Create, rotate or revoke a client (then redraw); a new token is shown once."""
    trigger, real = clicked(ctx)
    if not real:
        return no_update, no_update
    p, now = principal(), current().now()
    try:
        with current().engine.begin() as conn:
            if trigger == "adm-client-create":
                token = create_api_client(conn, p, name or "", scopes or [], area or None, now)
                message = [html.P(f"已创建接入方 {name.strip()}。"), secret_note("Bearer 令牌", token, link=False)]
            elif trigger["do"] == "rotate":
                token = rotate_api_client(conn, p, trigger["client"], now)
                message = [html.P("已换发令牌，旧令牌即刻失效。"), secret_note("新 Bearer 令牌", token, link=False)]
            else:
                message = f"接入方 {revoke_api_client(conn, p, trigger['client'], now)} 已停用"
    except AdminError as exc:
        return no_update, html.P(str(exc), className="auth-error")
    return clients_table(), message
