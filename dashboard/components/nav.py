"""The cockpit header's links: the pages a principal may open, and who is signed in."""
from __future__ import annotations

from dash import dcc, html


def page_links(p) -> list:
    """Links to the other pages this principal may open, and who is signed in (with 退出)."""
    from dashboard.links import my_tasks_href

    links = [dcc.Link(text, href=href) for perm, text, href in (
        ("view_ledger", "事件台账", "/events"), ("run_drills", "网格赶考", "/drill"),
        ("view_ledger", "部门响应", "/dept-response"), ("view_ledger", "骑手积分", "/points"),
        ("view_people", "人口底数", "/people"), ("view_rules", "预警规则", "/rules"), ("view_briefs", "工作简报", "/briefs"),
        ("view_alarm_quality", "预警质量", "/alarm-quality"), ("view_alarm_quality", "督办与搁置", "/supervision"),
        ("admin", "管理", "/admin/people")) if p.can(perm)]
    if p.staff_id:
        links.append(dcc.Link("我的任务", href=my_tasks_href()))
    if p.kind == "user":
        links.append(html.Form(method="post", action="/logout", className="logout-form", children=[
            html.Span(p.name, className="who", title=p.label),
            dcc.Input(type="hidden", name="csrf_token", value=p.csrf or ""),
            html.Button("退出", type="submit", className="link-button")]))
    return links
