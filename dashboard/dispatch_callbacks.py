"""Callbacks of the dispatch panel (any page that shows an event detail) — thin, they call governance."""
from __future__ import annotations

from dash import ALL, MATCH, Input, Output, State, callback, ctx, no_update

from sqlalchemy import select

from governance.dispatch import DispatchError, advance, dispatch, record_visit
from governance.escalation import LevelError, set_level
from governance.models import Event
from governance.warning_lifecycle import acknowledge
from governance.queries import event_detail

from .components.dispatch_panel import dispatch_panel
from .runtime import current

ACTOR = "街道指挥中心（值班）"  # until sign-in exists, actions are recorded under the duty desk


@callback(Output({"type": "dispatch-panel", "event": MATCH}, "children"),
          Input({"type": "dispatch-to", "event": MATCH, "staff": ALL}, "n_clicks"),
          Input({"type": "step", "event": MATCH, "to": ALL}, "n_clicks"),
          Input({"type": "visit-save", "event": MATCH}, "n_clicks"),
          Input({"type": "set-level", "event": MATCH, "level": ALL}, "n_clicks"),
          Input({"type": "ack", "event": MATCH, "warning": ALL}, "n_clicks"),
          State({"type": "depts", "event": MATCH}, "value"),
          State({"type": "step-note", "event": MATCH}, "value"),
          State({"type": "visit-score", "event": MATCH}, "value"),
          prevent_initial_call=True)
def act(dispatch_clicks, step_clicks, visit_clicks, level_clicks, ack_clicks, departments, note, score):
    """Run the clicked action once; show who won if someone else was faster."""
    trig = ctx.triggered_id
    if not trig or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update
    rt = current()
    eid = trig["event"]
    message, ok = None, True
    try:
        with rt.engine.begin() as conn:
            status = conn.execute(select(Event.status).where(Event.id == eid)).scalar()
            if trig["type"] == "dispatch-to" and status == "assign":
                advance(conn, eid, "assign", ACTOR, rt.now(), note or None, staff_id=trig["staff"])
                message = "已改派"
            elif trig["type"] == "dispatch-to":
                dispatch(conn, eid, trig["staff"], ACTOR, rt.now(), tuple(departments or ()))
                message = "已派单，承办人将在任务页看到该任务"
            elif trig["type"] == "set-level":
                set_level(conn, eid, trig["level"], ACTOR, note or "", rt.now())
                message = "处置层级已调整"
            elif trig["type"] == "ack":
                if not acknowledge(conn, trig["warning"], ACTOR, rt.now()):
                    raise DispatchError("该预警已解除")
                message = "预警已确认"
            elif trig["type"] == "step":
                label = advance(conn, eid, trig["to"], ACTOR, rt.now(), note or None)
                message = f"已{label}"
            elif trig["type"] == "visit-save":
                if score is None:
                    raise DispatchError("请先选择满意度")
                record_visit(conn, eid, int(score), ACTOR, rt.now())
                message = "回访已记录"
    except (DispatchError, LevelError) as exc:
        message, ok = str(exc), False
    with rt.engine.connect() as conn:
        detail = event_detail(conn, eid)
    return dispatch_panel(detail, message, ok)
