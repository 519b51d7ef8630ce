"""管理 · 走访计划: how often each special group is visited, checked like people.yaml at start, applied at once."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import clicked, frame, settings_editor, table, when
from dashboard.runtime import current
from governance.accounts.admin_ops import AdminError
from governance.accounts.console_settings import SettingError, effective, manages_shared, overrides, propose
from governance.console.plan_settings import PLANS, choices, label, plan_rows, save
from governance.console.rule_settings import get_path
from governance.people.visits import plans

dash.register_page(__name__, path="/admin/visits", title="走访计划 · 网格驾驶舱", name="走访计划")
ACCESS = "admin"
plans()  # the start-up check of people.yaml's visit_plans; the console's changes go through it again


def plans_table(rows: list[dict]) -> html.Table:
    """Every special group: its visit interval in force (and the file's), open visits, who changed it."""
    return table(["特殊人群", "走访间隔（天）", "配置文件值", "说明", "待走访户次", "修改人", "修改时间"], [
        [html.Td(r["name"]),
         html.Td("无走访计划" if r["every_days"] is None else str(r["every_days"]),
                 className="changed" if r["every_days"] != r["file_days"] else ""),
         html.Td("" if r["file_days"] is None else str(r["file_days"])), html.Td(r["label"]),
         html.Td(str(r["open"])), html.Td(r["by"]), html.Td(when(r["at"]) if r["at"] else "")]
        for r in rows], "plans-table")


def _table() -> html.Table:
    with current().engine.connect() as conn:
        return plans_table(plan_rows(conn))


def layout(**_query):
    """The editor (admins whose subtree holds the whole deployment) and the plans table."""
    with current().engine.connect() as conn:
        editable = manages_shared(conn, principal())
    editor = [
        settings_editor("adm-plan", "选择走访计划设置", choices()),
    ] if editable else [html.P("走访计划对整个辖区生效，只有全市或街道管理员可以修改；此处只读。", className="hint")]
    return frame("走访计划", "/admin/visits",
                 html.P("走访计划来自 people.yaml 的 visit_plans。新值按配置文件的写法读取，并与服务启动时一样校验；不通过时"
                        "显示同样的校验信息。保存后调度程序按新间隔生成下一轮走访任务，本轮未完成的走访按“派发时间 + 新间隔”"
                        "重新计算到期时间，逾期未访预警随之更新，无需重启。", className="hint"),
                 *editor, html.Div(id="adm-plan-msg", className="admin-msg", role="status"),
                 html.Pre(id="adm-plan-diff", className="rules-diff"),
                 html.Div(id="adm-plan-table", children=_table()))


@callback(Output("adm-plan-value", "value"), Input("adm-plan-path", "value"), prevent_initial_call=True)
@requires("admin")
def plan_pick(path):
    """The picked setting's value in force, ready to edit."""
    with current().engine.connect() as conn:
        try:
            return str(get_path(effective(PLANS, overrides(conn, PLANS)), path or ""))
        except (KeyError, IndexError, TypeError, ValueError):
            return ""


@callback(Output("adm-plan-msg", "children"), Output("adm-plan-diff", "children"), Output("adm-plan-table", "children"),
          Input("adm-plan-check", "n_clicks"), Input("adm-plan-save", "n_clicks"), Input("adm-plan-reset", "n_clicks"),
          State("adm-plan-path", "value"), State("adm-plan-value", "value"), prevent_initial_call=True)
@requires("admin")
def plan_action(_check, _save, _reset, path, value):
    """Preview a change as a diff, save it (audited, in force at once) or go back to the file's value."""
    trigger, real = clicked(ctx)
    if not real:
        return no_update, no_update, no_update
    p = principal()
    try:
        with current().engine.begin() as conn:
            if not manages_shared(conn, p):
                raise AdminError("走访计划对整个辖区生效，只有全市或街道管理员可以修改")
            if not path:
                raise SettingError("请先选择设置")
            if trigger == "adm-plan-check":
                change = propose(conn, PLANS, path, value or "")
                return (f"{label(path)}：{change['before']} → {change['after']}（未保存）", "\n".join(change["diff"]),
                        no_update)
            change = save(conn, p, path, None if trigger == "adm-plan-reset" else (value or ""), current().now())
    except (AdminError, SettingError) as exc:
        return html.P(str(exc), className="auth-error"), "", no_update
    except ValueError as exc:  # the start-up check of the plans (governance.people.visits.parse_plans)
        return html.P(["校验未通过：", html.Code(str(exc), className="rules-error")], className="auth-error"), "", no_update
    moved = f"（本轮 {change['moved']} 户次未完成走访的到期时间已按新间隔调整）" if change.get("moved") else ""
    return (f"已保存并生效：{change['label']} {change['before']} → {change['after']}{moved}",
            "\n".join(change["diff"]), _table())
