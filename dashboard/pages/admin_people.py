"""管理 · 人员: accounts of the admin's subtree: create (role, area), disable/enable, one-time password links."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import area_options, button, clicked, frame, secret_note, table, when
from dashboard.runtime import current
from governance.core.access import ROLES
from governance.accounts.admin_ops import BOUND_ROLES, AdminError, create_person, issue_reset_link, list_people, set_person_active

dash.register_page(__name__, path="/admin/people", title="人员管理 · 网格驾驶舱", name="人员管理")
ACCESS = "admin"


def people_table(text: str | None = None) -> html.Table:
    """The accounts the admin may manage, each with its actions."""
    with current().engine.connect() as conn:
        people = list_people(conn, principal(), text)
    rows = [[html.Td(r["username"]), html.Td(r["display_name"]), html.Td(r["role_label"]),
             html.Td(r["area_name"] or "全市"),
             html.Td("启用" if r["active"] else "已停用", className="state-on" if r["active"] else "state-off"),
             html.Td(when(r["last_login_at"])), html.Td(r["sessions"]),
             html.Td([button("停用", {"type": "adm-user", "user": r["id"], "do": "disable"}, danger=True)
                      if r["active"] else button("启用", {"type": "adm-user", "user": r["id"], "do": "enable"}),
                      button("发放改密链接", {"type": "adm-user", "user": r["id"], "do": "reset"})])]
            for r in people]
    return table(["用户名", "姓名", "角色", "区域", "状态", "最近登录", "在线会话", "操作"], rows, "people-table")


def layout(**_query):
    """New-account form, search, and the accounts table."""
    return frame("人员管理", "/admin/people",
                 html.Div(className="filters admin-form", children=[
                     dcc.Input(id="adm-new-username", placeholder="用户名", className="search-box"),
                     dcc.Input(id="adm-new-name", placeholder="姓名", className="search-box"),
                     dcc.Dropdown(id="adm-new-role", placeholder="角色", clearable=False,
                                  options=[{"label": v["label"], "value": k} for k, v in ROLES.items()
                                           if k not in BOUND_ROLES]),
                     dcc.Dropdown(id="adm-new-area", placeholder="区域", options=area_options(with_city=True)),
                     html.Button("新建账号", id="adm-create", n_clicks=0, className="action-button primary")]),
                 html.P("新账号不设初始密码：创建后显示一次性链接，由本人打开后设置密码（24 小时内有效）。", className="hint"),
                 html.Div(id="adm-people-msg", className="admin-msg", role="status"),
                 dcc.Input(id="adm-people-q", placeholder="按用户名或姓名查找", className="search-box", debounce=True),
                 html.Div(id="adm-people-table", children=people_table()))


@callback(Output("adm-people-table", "children"), Output("adm-people-msg", "children"),
          Input("adm-create", "n_clicks"), Input({"type": "adm-user", "user": ALL, "do": ALL}, "n_clicks"),
          Input("adm-people-q", "value"),
          State("adm-new-username", "value"), State("adm-new-name", "value"), State("adm-new-role", "value"),
          State("adm-new-area", "value"), prevent_initial_call=True)
@requires("admin")
def people_action(_create, _rows, query, username, name, role, area):
    """Create an account, or disable / enable / issue a password link for one (then redraw the table)."""
    trigger, real = clicked(ctx)
    if trigger != "adm-people-q" and not real:
        return no_update, no_update
    p, now = principal(), current().now()
    message = None
    try:
        with current().engine.begin() as conn:
            if trigger == "adm-create":
                link = create_person(conn, p, username or "", name or "", role or "", area or None, now)
                message = [html.P(f"已创建账号 {username.strip()}。"), secret_note("设置密码链接", link)]
            elif isinstance(trigger, dict):
                if trigger["do"] == "reset":
                    link = issue_reset_link(conn, p, trigger["user"], now)
                    message = [html.P("已发放改密链接（此前发放的未用链接作废）。"), secret_note("改密链接", link)]
                else:
                    who = set_person_active(conn, p, trigger["user"], trigger["do"] == "enable", now)
                    message = f"账号 {who} 已启用" if trigger["do"] == "enable" else f"账号 {who} 已停用，其登录会话已全部结束"
    except AdminError as exc:
        return no_update, html.P(str(exc), className="auth-error")
    return people_table(query), message if message is not None else no_update
