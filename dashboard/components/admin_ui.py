"""Shared pieces of the admin console pages: the page frame, area choices, tables with row buttons."""
from __future__ import annotations

import flask
from dash import dcc, html

from governance.events.queries import area_by_code, areas_in
from governance.core.timeutil import format_local

from ..auth import home_code, principal
from ..runtime import current

ADMIN_PAGES = (("/admin/people", "人员"), ("/admin/devices", "大屏设备"), ("/admin/clients", "接入方"),
               ("/admin/settings", "预警设置"), ("/admin/departments", "职能部门"), ("/admin/visits", "走访计划"),
               ("/audit", "审计"))
AREA_LEVELS = ("subdistrict", "community", "general_grid")


def frame(title: str, path: str, *children) -> html.Div:
    """An admin page: heading, the console's own navigation, the scope it manages, then its content."""
    p = principal()
    scope = "全市" if "/" in p.scope else (area_name(p.home) or p.home or "")
    return html.Div(className="page admin-page", children=[
        html.Header(className="page-header", children=[
            html.H1(title),
            html.Nav(className="admin-nav", children=[dcc.Link("← 驾驶舱", href="/", className="back-link")] + [
                dcc.Link(text, href=href, className="back-link" + (" current" if href == path else ""))
                for href, text in ADMIN_PAGES])]),
        html.P(f"管理范围：{scope}（{p.name}）", className="hint admin-scope"),
        *children])


def area_name(code: str | None) -> str | None:
    """Name of an area code (None when unknown)."""
    if not code:
        return None
    with current().engine.connect() as conn:
        area = area_by_code(conn, code)
    return area.name if area else None


def area_options(with_city: bool = False) -> list[dict]:
    """Areas of the admin's subtree (sub-district, communities, general grids) as dropdown choices."""
    p = principal()
    with current().engine.connect() as conn:
        root = area_by_code(conn, home_code())
        out = [{"label": "全市（不绑定区域）", "value": ""}] if with_city and "/" in p.scope else []
        if root is None:
            return out
        out.append({"label": root.name, "value": root.code})
        for level, indent in zip(AREA_LEVELS[1:], ("　", "　　")):
            if root.level == level:
                continue
            out += [{"label": indent + a.name, "value": a.code} for a in areas_in(conn, root.path, level)]
    return out


def when(value) -> str:
    """A stored time in local words ("—" for never)."""
    return format_local(value, "%Y-%m-%d %H:%M") if value else "—"


def table(head: list[str], rows: list[list], class_name: str = "") -> html.Table:
    """A plain data table (cells may be components)."""
    return html.Table(className=f"data-table admin-table {class_name}".strip(), children=[
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr(r) for r in rows])])


def button(text: str, ident: dict, primary: bool = False, danger: bool = False) -> html.Button:
    """A row action button with a pattern-matching id."""
    return html.Button(text, id=ident, n_clicks=0,
                       className="action-button" + (" primary" if primary else "") + (" danger" if danger else ""))


def secret_note(label: str, value: str, link: bool = True) -> html.Div:
    """A secret shown once (a link or a token), as a full URL when it is a path."""
    text = flask.request.host_url.rstrip("/") + value if link else value
    return html.Div(className="secret-once", children=[
        html.Span(label + "（仅显示这一次，请立即复制）："), html.Code(text, className="secret-value")])


def clicked(ctx) -> tuple[object, bool]:
    """(the id that triggered a callback, whether it was a real click rather than a redraw)."""
    trig = ctx.triggered[0] if ctx.triggered else {}
    return ctx.triggered_id, bool(trig.get("value"))


def settings_editor(prefix: str, placeholder: str, options: list[dict], min_width: str = "24em") -> html.Div:
    """The edit line of a settings page (warning settings, departments, visit plans): pick a setting, type
    its new value, then 预览差异 / 保存并生效 / 恢复配置文件值 (ids `<prefix>-path`, `-value`, `-check`, `-save`,
    `-reset`)."""
    return html.Div(className="filters admin-form", children=[
        dcc.Dropdown(id=f"{prefix}-path", placeholder=placeholder, options=options, style={"minWidth": min_width}),
        dcc.Input(id=f"{prefix}-value", placeholder="新值", className="search-box"),
        html.Button("预览差异", id=f"{prefix}-check", n_clicks=0, className="action-button"),
        html.Button("保存并生效", id=f"{prefix}-save", n_clicks=0, className="action-button primary"),
        html.Button("恢复配置文件值", id=f"{prefix}-reset", n_clicks=0, className="action-button")])

