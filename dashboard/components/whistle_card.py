"""A department's 报到 request as a card: the event, the deadline, what happened, and the actions left."""
from __future__ import annotations

from datetime import datetime

from dash import dcc, html

from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import format_local
from governance.events.whistles import OPEN, STATUS

ACTIONS = {"checkin": "报到", "reply": "回复", "handback": "退回"}


def _overdue(row: dict, now: datetime) -> str:
    if row["status"] == "pending" and row["due_at"] < now:
        hours = (now - row["due_at"]).total_seconds() / 3600
        return f"已超时 {hours:.1f} 小时" if hours < 48 else f"已超时 {hours / 24:.0f} 天"
    return ""


def whistle_card(row: dict, now: datetime, message: str | None = None, ok: bool = True) -> list:
    """The card's content (citizen text is plain Dash text, so escaped)."""
    cat = load_taxonomy().categories.get(row["category_code"])
    late = _overdue(row, now)
    facts = [f"吹哨：{format_local(row['created_at'], '%Y-%m-%d %H:%M')}",
             f"报到时限：{format_local(row['due_at'], '%Y-%m-%d %H:%M')}"]
    if row.get("checked_in_at"):
        facts.append(f"报到：{format_local(row['checked_in_at'], '%m-%d %H:%M')}")
    if row.get("replied_at"):
        facts.append(f"回复：{format_local(row['replied_at'], '%m-%d %H:%M')}")
    parts = [
        html.Div(className="whistle-head", children=[
            html.Span(STATUS.get(row["status"], row["status"]), className=f"whistle-status st-{row['status']}"),
            html.Strong(f"#{row['event_id']} {row['title']}"),
            html.Span(late, className="whistle-late") if late else None]),
        html.P(f"{cat.name if cat else row['category_code']} · {row['address'] or row.get('grid') or '—'}",
               className="hint"),
        html.P(row.get("description") or "", className="whistle-desc"),
        html.P("；".join(facts), className="hint"),
    ]
    if row.get("reply"):
        parts.append(html.P(f"本部门回复：{row['reply']}", className="whistle-reply"))
    if row.get("hand_back_reason"):
        parts.append(html.P(f"退回原因：{row['hand_back_reason']}", className="whistle-reply"))
    if message:
        parts.append(html.P(message, className="dispatch-msg ok" if ok else "dispatch-msg error"))
    open_ = row["status"] in OPEN
    wid = row["id"]
    parts.append(html.Div(className="step-buttons", style={} if open_ else {"display": "none"}, children=[
        dcc.Textarea(id={"type": "whistle-text", "whistle": wid}, placeholder="回复内容或退回原因",
                     className="note-input", value=""),
        *[html.Button(label, id={"type": "whistle-do", "whistle": wid, "do": do}, n_clicks=0,
                      className="action-button" + (" primary" if do == "checkin" else ""),
                      style={"display": "none"} if do == "checkin" and row["status"] != "pending" else {})
          for do, label in ACTIONS.items()]]))
    return parts
