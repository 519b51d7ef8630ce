"""管理 · 预警设置: warning and escalation thresholds, checked like the rules file at start, applied at once."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import clicked, frame, settings_editor, table, when
from dashboard.runtime import current
from governance.accounts.admin_ops import is_root
from governance.console.rule_settings import RulesError, SettingError, apply, propose, settings_rows

dash.register_page(__name__, path="/admin/settings", title="预警设置 · 网格驾驶舱", name="预警设置")
ACCESS = "admin"


def _rows() -> list[dict]:
    with current().engine.connect() as conn:
        return settings_rows(conn)


def settings_table(rows: list[dict]) -> html.Table:
    """Every setting: the value in force, the file's value, who changed it."""
    return table(["设置", "路径", "当前值", "配置文件值", "修改人", "修改时间"], [
        [html.Td(r["label"]), html.Td(html.Code(r["path"])),
         html.Td(str(r["value"]), className="changed" if r["changed"] else ""), html.Td(str(r["file"])),
         html.Td(r["by"] if r["changed"] else ""), html.Td(when(r["at"]) if r["changed"] else "")]
        for r in rows], "settings-table")


def layout(**_query):
    """The editor (city-wide admins only: the rules hold for the whole city) and the settings table."""
    rows = _rows()
    editor = [
        settings_editor("adm-set", "选择设置", [{"label": f"{r['label']}（{r['path']}）", "value": r["path"]} for r in rows]),
        html.Div(id="adm-set-msg", className="admin-msg", role="status"),
        html.Pre(id="adm-set-diff", className="rules-diff")] if is_root(principal()) else [
        html.P("预警规则对全市生效，只有全市管理员可以修改；此处只读。", className="hint")]
    return frame("预警设置", "/admin/settings",
                 html.P("新值按配置文件的写法读取，并与服务启动时一样校验整套规则；不通过时显示同样的校验信息。保存后驾驶舱与“预警规则”页立即按新值计算，无需重启。",
                        className="hint"),
                 *editor, html.Div(id="adm-set-table", children=settings_table(rows)))


@callback(Output("adm-set-value", "value"), Input("adm-set-path", "value"), prevent_initial_call=True)
@requires("admin")
def settings_pick(path):
    """The picked setting's value in force, ready to edit."""
    row = next((r for r in _rows() if r["path"] == path), None)
    return "" if row is None else str(row["value"]).lower() if isinstance(row["value"], bool) else str(row["value"])


@callback(Output("adm-set-msg", "children"), Output("adm-set-diff", "children"), Output("adm-set-table", "children"),
          Input("adm-set-check", "n_clicks"), Input("adm-set-save", "n_clicks"), Input("adm-set-reset", "n_clicks"),
          State("adm-set-path", "value"), State("adm-set-value", "value"), prevent_initial_call=True)
@requires("admin")
def settings_action(_check, _save, _reset, path, value):
    """Preview the diff of a change, save it (audited, in force at once) or go back to the file's value."""
    trigger, real = clicked(ctx)
    p = principal()
    if not real:
        return no_update, no_update, no_update
    if not is_root(p):
        return html.P("只有全市管理员可以修改预警设置", className="auth-error"), "", no_update
    if not path:
        return html.P("请先选择设置", className="auth-error"), "", no_update
    try:
        if trigger == "adm-set-check":
            with current().engine.connect() as conn:
                change = propose(conn, path, value or "")
            return f"{change['label']}：{change['before']} → {change['after']}（未保存）", "\n".join(change["diff"]), no_update
        with current().engine.begin() as conn:
            change = apply(conn, path, None if trigger == "adm-set-reset" else (value or ""), p.name, current().now())
    except RulesError as exc:
        return html.P(["规则校验未通过：", html.Code(str(exc), className="rules-error")], className="auth-error"), "", no_update
    except SettingError as exc:
        return html.P(str(exc), className="auth-error"), "", no_update
    return (f"已保存并生效：{change['label'] if 'label' in change else path} {change['before']} → {change['after']}",
            "\n".join(change["diff"]), settings_table(_rows()))
