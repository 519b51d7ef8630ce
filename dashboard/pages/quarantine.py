"""Quarantine (待查记录): feed records that could not be used, with their reasons, as received."""
from __future__ import annotations

import dash
from dash import dcc, html

from data_sources.registry import source_label
from dashboard.runtime import current
from governance.events.quarantine import open_records
from governance.core.timeutil import format_local, format_when

dash.register_page(__name__, path="/quarantine", title="待查记录 · 网格驾驶舱", name="待查记录")
ACCESS = "view_quarantine"

RAW_PREVIEW = 2000


def quarantine_rows(limit: int = 200) -> list[dict]:
    """The newest unresolved quarantined records."""
    with current().engine.connect() as conn:
        return open_records(conn, limit)


def layout(**_query):
    """A plain, scrollable list: when, which feed, which key, why, and the raw record."""
    rows = quarantine_rows()
    now = current().now()
    return html.Div(className="page quarantine-page", children=[
        html.Header(className="page-header", children=[
            html.H1("待查记录（未能入库的数据源记录）"),
            dcc.Link("← 返回驾驶舱", href="/", className="back-link"),
        ]),
        html.P(f"共 {len(rows)} 条（最新在前）。原始内容按收到时的样子保留，供核对后补录或修正数据源。",
               className="hint"),
        html.Table(className="data-table", children=[
            html.Thead(html.Tr([html.Th(h) for h in ["收到时间", "数据源", "源系统编号", "原因", "原始内容"]])),
            html.Tbody([html.Tr(className="quarantine-row", children=[
                html.Td(format_when(r["received_at"], now), title=format_local(r["received_at"], "%Y-%m-%d %H:%M:%S")),
                html.Td(source_label(r["source"])),
                html.Td(r["source_key"] or "—"),
                html.Td(r["reason"], className="reason"),
                html.Td(html.Pre(r["raw"][:RAW_PREVIEW] + ("…" if len(r["raw"]) > RAW_PREVIEW else ""),
                                 className="raw")),
            ]) for r in rows]),
        ]),
    ])
