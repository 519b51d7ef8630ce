"""What a refusal looks like: a plain HTML page for routes and sign-in, a component in place of a Dash page."""
from __future__ import annotations

from html import escape

import flask
from dash import dcc, html

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · 网格驾驶舱</title>
<link rel="stylesheet" href="/assets/cockpit.css"></head>
<body class="auth-body"><main class="auth-card"><h1>网格驾驶舱</h1>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> flask.Response:
    """A plain HTML page of the sign-in look (title escaped; `body` is HTML the caller built and escaped)."""
    return flask.Response(PAGE.format(title=escape(title), body=body), status=status, mimetype="text/html")


def refusal_page(message: str, status: int) -> flask.Response:
    """A full HTML page explaining a refusal (expired link, revoked device, no permission)."""
    return page("无法访问", f'<p class="auth-error">{escape(message)}</p><p><a href="/login">登录</a></p>', status)


def refusal_component(p):
    """What a page shows in place of its content when the principal may not see it."""
    if p.kind == "anonymous":
        return html.Div([dcc.Location(id="to-login", href="/login", refresh=True), html.P("请先登录")])
    if p.kind == "user" and p.department:  # a department (吹哨报到) lands on its own 报到 page
        return html.Div([dcc.Location(id="to-dept", href="/dept", refresh=True), html.P("此页面无权访问，正在打开本部门报到页…")])
    return html.Div(className="page refusal", children=[html.H1("无权访问"),
                                                        html.P(f"当前身份（{p.label}）不能查看此页面。"),
                                                        dcc.Link("返回驾驶舱", href="/")])
