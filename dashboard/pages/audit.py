"""审计: who did what — the access log, event actions and admin changes, filtered and exportable."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, callback, dcc, html

from dashboard.auth import principal, requires
from dashboard.components.admin_ui import area_options, frame, table
from dashboard.runtime import current
from governance.accounts.audit_log import COLUMNS, KINDS, action_options, display, filter_from, rows
from governance.events.queries import area_by_code

dash.register_page(__name__, path="/audit", title="审计 · 网格驾驶舱", name="审计")
ACCESS = "admin"


def layout(**_query):
    """Filters (kind, person, area, action, days), export links and the newest matching entries."""
    return frame("审计", "/audit",
                 html.Div(className="filters audit-filters", children=[
                     dcc.RadioItems(id="audit-kind", value="access", inline=True,
                                    options=[{"label": v, "value": k} for k, v in KINDS.items()]),
                     dcc.Input(id="audit-person", placeholder="人员（操作人或对象）", className="search-box", debounce=True),
                     dcc.Dropdown(id="audit-area", placeholder="区域", options=area_options()),
                     dcc.Dropdown(id="audit-action", placeholder="动作", options=action_options("access")),
                     dcc.DatePickerRange(id="audit-dates", display_format="YYYY-MM-DD",
                                         start_date_placeholder_text="开始日期", end_date_placeholder_text="结束日期"),
                     html.A("导出 CSV", id="audit-csv", href="/api/v1/audit.csv", className="action-button"),
                     html.A("导出 Excel", id="audit-xlsx", href="/api/v1/audit.xlsx", className="action-button")]),
                 html.P(id="audit-count", className="hint"),
                 html.Div(id="audit-table"))


@callback(Output("audit-table", "children"), Output("audit-count", "children"), Output("audit-csv", "href"),
          Output("audit-xlsx", "href"), Output("audit-action", "options"),
          Input("audit-kind", "value"), Input("audit-person", "value"), Input("audit-area", "value"),
          Input("audit-action", "value"), Input("audit-dates", "start_date"), Input("audit-dates", "end_date"))
@requires("admin")
def audit_refresh(kind, person, area, action, start, end):
    """The entries the filters select (newest first, at most 500 shown; the export holds them all)."""
    with current().engine.connect() as conn:
        ref = area_by_code(conn, area) if area else None
        f = filter_from(kind, person, ref.path if ref else None, action, start, end)
        found = [display(f.kind, r) for r in rows(conn, principal(), f)]
    cols = COLUMNS[f.kind]
    args = urlencode({k: v for k, v in (("kind", f.kind), ("person", f.person), ("area", area or ""),
                                        ("action", f.action), ("start", start or ""), ("end", end or "")) if v})
    body = table([label for _, label in cols], [[html.Td(r[k]) for k, _ in cols] for r in found], f"audit-{f.kind}")
    return (body, f"{KINDS[f.kind]}：{len(found)} 条" + ("（仅显示最新 500 条，导出含全部）" if len(found) >= 500 else ""),
            f"/api/v1/audit.csv?{args}", f"/api/v1/audit.xlsx?{args}", action_options(f.kind))
