"""管理 · 职能部门: departments (名称, 停用/启用) and their 报到 limits, checked like the files at start, applied at once."""
from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import button, clicked, frame, settings_editor, table, when
from dashboard.runtime import current
from governance.accounts.admin_ops import AdminError
from governance.accounts.console_settings import SettingError, effective, manages_shared, overrides, propose
from governance.events.department_settings import DOCS, ERRORS, choices, department_rows, label, report_limits, save, set_enabled
from governance.events.participation import load_participation
from governance.console.rule_settings import get_path
from governance.core.taxonomy import load_taxonomy

dash.register_page(__name__, path="/admin/departments", title="职能部门 · 网格驾驶舱", name="职能部门")
ACCESS = "admin"
load_taxonomy(), load_participation()  # the start-up checks the console's changes go through again


def departments_table(rows: list[dict], editable: bool) -> html.Table:
    """Every department: name in force (and the file's), kind, duty phone, what it handles, state."""
    return table(["代码", "名称", "配置文件名称", "类型", "值班电话", "承办类别", "状态", "修改人", "修改时间", ""], [
        [html.Td(html.Code(r["code"])), html.Td(r["name"], className="changed" if r["name"] != r["file_name"] else ""),
         html.Td(r["file_name"]), html.Td(r["kind"]), html.Td(r["phone"], className="dept-phone"),
         html.Td("、".join(r["handles"]) or "—", className="dept-handles"),
         html.Td("启用" if r["enabled"] else "已停用", className="state-on" if r["enabled"] else "state-off"),
         html.Td(r["by"]), html.Td(when(r["at"]) if r["at"] else ""),
         html.Td(button("停用" if r["enabled"] else "启用",
                        {"type": "adm-dept-toggle", "department": r["code"], "do": "off" if r["enabled"] else "on"},
                        danger=r["enabled"]) if editable else "")]
        for r in rows], "departments-table")


def limits_table(rows: list[dict]) -> html.Table:
    """报到 limits by the event's severity: in force and in the file."""
    return table(["事件等级", "报到时限（小时）", "配置文件值"], [
        [html.Td(r["label"]), html.Td(f"{r['hours']:g}", className="changed" if r["hours"] != r["file"] else ""),
         html.Td("" if r["file"] is None else f"{r['file']:g}")] for r in rows], "report-limits-table")


def _tables(editable: bool) -> list:
    with current().engine.connect() as conn:
        rows, limits = department_rows(conn), report_limits(conn)
    return [departments_table(rows, editable), html.H2("部门报到时限"), limits_table(limits)]


def layout(**_query):
    """The editor (admins whose subtree holds the whole deployment) and the departments and limits tables."""
    with current().engine.connect() as conn:
        editable = manages_shared(conn, principal())
    editor = [
        settings_editor("adm-dept", "选择部门设置", choices(), "26em"),
    ] if editable else [html.P("职能部门对整个辖区生效，只有全市或街道管理员可以修改；此处只读。", className="hint")]
    return frame("职能部门", "/admin/departments",
                 html.P("部门来自 taxonomy.yaml，报到时限来自 participation.yaml。新值按配置文件的写法读取，并与服务启动时"
                        "一样校验；不通过时显示同样的校验信息。保存后派单建议、吹哨报到与“部门响应”立即按新值执行，无需重启；"
                        "已停用的部门不再出现在派单建议中，也不能被吹哨。", className="hint"),
                 *editor, html.Div(id="adm-dept-msg", className="admin-msg", role="status"),
                 html.Pre(id="adm-dept-diff", className="rules-diff"),
                 html.Div(id="adm-dept-table", children=_tables(editable)))


@callback(Output("adm-dept-value", "value"), Input("adm-dept-path", "value"), prevent_initial_call=True)
@requires("admin")
def dept_pick(path):
    """The picked setting's value in force, ready to edit."""
    key, _, rest = (path or "").partition(":")
    if key not in DOCS:
        return ""
    with current().engine.connect() as conn:
        try:
            value = get_path(effective(DOCS[key], overrides(conn, DOCS[key])), rest)
        except (KeyError, IndexError, TypeError, ValueError):
            return ""
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


@callback(Output("adm-dept-msg", "children"), Output("adm-dept-diff", "children"), Output("adm-dept-table", "children"),
          Input("adm-dept-check", "n_clicks"), Input("adm-dept-save", "n_clicks"), Input("adm-dept-reset", "n_clicks"),
          Input({"type": "adm-dept-toggle", "department": ALL, "do": ALL}, "n_clicks"),
          State("adm-dept-path", "value"), State("adm-dept-value", "value"), prevent_initial_call=True)
@requires("admin")
def dept_action(_check, _save, _reset, _toggles, path, value):
    """Preview a change as a diff, save it (audited, in force at once), go back to the file, 停用/启用 a department."""
    trigger, real = clicked(ctx)
    if not real:
        return no_update, no_update, no_update
    p = principal()
    try:
        with current().engine.begin() as conn:
            if not manages_shared(conn, p):
                raise AdminError("职能部门对整个辖区生效，只有全市或街道管理员可以修改")
            if isinstance(trigger, dict):
                change = set_enabled(conn, p, trigger["department"], trigger["do"] == "on", current().now())
                change["label"] = label(f"taxonomy:{trigger['department']}.name").split("：")[0]
            elif not path:
                raise SettingError("请先选择设置")
            elif trigger == "adm-dept-check":
                key, _, rest = path.partition(":")
                if key not in DOCS:
                    raise SettingError(f"不能在此修改的设置：{path}")
                change = propose(conn, DOCS[key], rest, value or "")
                return (f"{label(path)}：{change['before']} → {change['after']}（未保存）", "\n".join(change["diff"]),
                        no_update)
            else:
                change = save(conn, p, path, None if trigger == "adm-dept-reset" else (value or ""), current().now())
    except ERRORS as exc:
        return html.P(["校验未通过：", html.Code(str(exc), className="rules-error")], className="auth-error"), "", no_update
    except (AdminError, SettingError) as exc:
        return html.P(str(exc), className="auth-error"), "", no_update
    if isinstance(trigger, dict):  # the tables are read after the commit
        return f"{change['label']} 已{'启用' if trigger['do'] == 'on' else '停用'}", "\n".join(change["diff"]), _tables(True)
    return (f"已保存并生效：{change['label']} {change['before']} → {change['after']}", "\n".join(change["diff"]),
            _tables(True))

