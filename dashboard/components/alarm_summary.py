"""The warnings panel's first rows: flood summaries (泛滥) and what left the list (督办, 搁置) — #18."""
from __future__ import annotations

from dash import dcc, html

from governance.alerts.warnings import LABELS


def alarm_rows(warned, names: dict[str, str] | None = None, can_open: bool = False) -> list:
    """Rows above the warnings: one per open flood summary, then a line with the 督办/搁置 counts."""
    names = names or {}
    rows = []
    for path, level, reasons in warned.floods[:2]:
        code = path.strip("/").split("/")[-1]
        rows.append(html.Li(className=f"warn-row lv-{level} warn-flood", children=[
            html.Span(LABELS[level][:1], className="warn-badge"),
            html.Span(f"{names.get(code, code)} 预警泛滥", className="warn-title"),
            html.Span("；".join(reasons)[:60], className="warn-reason")]))
    off = warned.off_list or {}
    if off.get("supervised") or off.get("shelved"):
        text = f"督办 {off.get('supervised', 0)} 件（监督员盯办）· 搁置 {off.get('shelved', 0)} 条"
        rows.append(html.Li(className="warn-row warn-summary", children=[
            dcc.Link(text, href="/supervision", className="warn-off-list") if can_open
            else html.Span(text, className="warn-off-list")]))
    return rows
