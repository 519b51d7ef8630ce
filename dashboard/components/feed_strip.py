"""Feed status strip: each source's freshness (正常/延迟/中断) and its open quarantine count."""
from __future__ import annotations

from dash import dcc, html

from data_sources.registry import source_short


def feed_strip(health_rows: list[dict]) -> list:
    """One pill per feed, by its short name (full name and status on hover); quarantine links to its page."""
    pills = []
    for row in health_rows:
        title = f"{row['label']}：{row['status_label']}"
        if row["lag_seconds"] is not None:
            title += f"，{row['lag_seconds']} 秒前成功同步"
        if row["last_error"]:
            title += f"\n最近错误：{row['last_error']}"
        children = [source_short(row["source"])]  # the status dot is the pill's ::before (cockpit.css)
        if row["quarantine_open"]:
            children.append(dcc.Link(f"待查 {row['quarantine_open']}", href="/quarantine",
                                     className="feed-quarantine"))
        pills.append(html.Span(children, className=f"feed-pill feed-{row['status']}", title=title,
                               **{"data-feed": row["source"], "data-status": row["status"]}))
    return pills
