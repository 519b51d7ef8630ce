"""Callbacks of an event detail on any page (dispatch panel, unmasking) — thin, they call governance."""
from __future__ import annotations

from dash import ALL, MATCH, Input, Output, State, callback, ctx, no_update

from governance.events.dispatch import (DispatchError, advance, dispatch, record_visit, reissue_link, revoke_link,
                                 score_value)
from governance.alerts.escalation import LevelError, set_level
from governance.accounts.accounts import log_access
from governance.alerts.warning_lifecycle import acknowledge, open_warning_for_event
from governance.events.queries import event_detail, event_ids_in_scope, event_status, reporter_contact

from .auth import client_ip, principal, requires
from .components.event_detail import event_card
from .runtime import current


def in_scope_ids(ids: list[int]) -> list[int]:
    """The subset of event ids whose area lies in the current principal's scope."""
    if not ids:
        return []
    with current().engine.connect() as conn:
        return event_ids_in_scope(conn, principal(), ids)


@callback(Output({"type": "event-card", "event": MATCH}, "children"),
          Input({"type": "dispatch-to", "event": MATCH, "staff": ALL}, "n_clicks"),
          Input({"type": "step", "event": MATCH, "to": ALL}, "n_clicks"),
          Input({"type": "visit-save", "event": MATCH}, "n_clicks"),
          Input({"type": "set-level", "event": MATCH, "level": ALL}, "n_clicks"),
          Input({"type": "ack", "event": MATCH, "warning": ALL}, "n_clicks"),
          Input({"type": "task-link", "event": MATCH, "do": ALL}, "n_clicks"),
          State({"type": "depts", "event": MATCH}, "value"),
          State({"type": "step-note", "event": MATCH}, "value"),
          State({"type": "visit-score", "event": MATCH}, "value"),
          prevent_initial_call=True)
@requires("dispatch")
def act(dispatch_clicks, step_clicks, visit_clicks, level_clicks, ack_clicks, link_clicks, departments, note, score):
    """Run the clicked action once; show who won if someone else was faster.

    Everything in the triggering id comes from the client: ids must be integers, the assignee and
    departments are checked against the event (governance.events.dispatch), a warning must be the event's.
    """
    trig = ctx.triggered_id
    if not trig or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update
    rt = current()
    eid = trig.get("event")
    if not _is_id(eid) or not in_scope_ids([eid]):
        return no_update
    actor = principal().name
    message, ok, new_link = None, True, None
    if not isinstance(note, (str, type(None))):
        note = None
    try:
        with rt.engine.begin() as conn:
            status = event_status(conn, eid)
            if trig["type"] == "dispatch-to" and status == "assign":
                new_link = advance(conn, eid, "assign", actor, rt.now(), note or None, staff_id=trig["staff"]).link
                message = "已改派，原任务链接已失效"
            elif trig["type"] == "dispatch-to":
                if not isinstance(departments, (list, tuple, type(None))):
                    raise DispatchError("所选部门无效")
                new_link = dispatch(conn, eid, trig["staff"], actor, rt.now(), tuple(departments or ()))
                message = "已派单，承办人将在任务页看到该任务"
            elif trig["type"] == "task-link" and trig.get("do") == "revoke":
                revoke_link(conn, eid, actor, rt.now())
                message = "任务链接已收回"
            elif trig["type"] == "task-link" and trig.get("do") == "issue":
                new_link = reissue_link(conn, eid, actor, rt.now())
                message = "已重新生成任务链接，原链接已失效"
            elif trig["type"] == "set-level":
                if not isinstance(trig.get("level"), str):
                    raise DispatchError("未知处置层级")
                set_level(conn, eid, trig["level"], actor, note or "", rt.now())
                message = "处置层级已调整"
            elif trig["type"] == "ack":
                if not _is_id(trig.get("warning")) or not acknowledge(conn, trig["warning"], actor, rt.now(),
                                                                       event_id=eid):
                    raise DispatchError("该预警已解除或不属于此事件")
                message = "预警已确认"
            elif trig["type"] == "step":
                label = advance(conn, eid, trig["to"], actor, rt.now(), note or None)
                message = f"已{label}"
            elif trig["type"] == "visit-save":
                if score is None:
                    raise DispatchError("请先选择满意度")
                record_visit(conn, eid, score_value(score), actor, rt.now())
                message = "回访已记录"
    except (DispatchError, LevelError) as exc:
        message, ok, new_link = str(exc), False, None
    with rt.engine.connect() as conn:
        detail = event_detail(conn, eid)
        warning = open_warning_for_event(conn, eid)
    if detail is None:
        return no_update
    warned = (warning.level, list(warning.reasons or [])) if warning is not None else None
    return event_card(detail, warned, principal(), rt.now(), message, ok, new_link)


def _is_id(value) -> bool:
    """A database id as a client may send it: an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


@callback(Output({"type": "reporter", "event": MATCH}, "children"),
          Input({"type": "unmask", "event": MATCH}, "n_clicks"), prevent_initial_call=True)
@requires("unmask")
def unmask(n):
    """Show a reporter's full name and phone to a role that needs them, and log that it happened."""
    if not n:
        return no_update
    eid = ctx.triggered_id["event"]
    if not in_scope_ids([eid]):
        return "该事件不在当前范围内"
    rt, p = current(), principal()
    with rt.engine.begin() as conn:
        row = reporter_contact(conn, eid)
        log_access(conn, p.name, "unmask", rt.now(), target=f"event:{eid}", detail="reporter", ip=client_ip())
    return f"{row.reporter_name or ''} {row.reporter_phone or ''}".strip() or "—"
