"""HTTP route of 关爱走访 on the worker's phone: one visit the phone queued, recorded once.

POST /api/v1/worker/visits (form: request_id, visit_id, visited_at, note, needs; optional report=1 with
report_text and category to raise an event) from a signed-in grid worker (session cookie and CSRF header,
as /worker/mine sends them). Answers like /api/v1/worker/actions: 200 recorded (or already recorded),
422 refused for good (the phone drops it and shows why), anything else is retried by the phone's queue.
The visit id is checked against the worker's own tasks (governance.people.visit_phone), never trusted.
"""
from __future__ import annotations

import flask
from flask import Blueprint, request

from data_sources.visit_events import raise_from_visit
from governance.people.visit_phone import VisitError, record_from_phone
from governance.events.worker_actions import REQUEST_ID

from .runtime import current

visit_api = Blueprint("visit_api", __name__)


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 12 else None


@visit_api.post("/api/v1/worker/visits")
def visit_action():
    """Record one queued visit of the signed-in worker (and raise its event once when asked)."""
    from .auth import principal

    p = principal()
    if p.staff_id is None:
        return flask.jsonify(ok=False, error="当前账号未关联网格员，不能记录走访"), 422
    form = request.form
    if not REQUEST_ID.match(form.get("request_id") or ""):
        return flask.jsonify(ok=False, error="请求编号无效，请刷新页面后重试"), 422
    rt, task_id = current(), _int(form.get("visit_id"))
    try:
        with rt.engine.begin() as conn:
            outcome = record_from_phone(conn, task_id, p.staff_id, rt.now(), form.get("visited_at"),
                                        form.get("note", ""), form.get("needs", ""), p.name)
    except VisitError as exc:
        return flask.jsonify(ok=False, error=str(exc)), 422
    message, event_id = outcome.message, outcome.event_id
    if form.get("report") == "1" and event_id is None:
        try:
            event_id = raise_from_visit(rt.engine, task_id, p.staff_id, form.get("report_text", ""),
                                        form.get("category", ""), rt.now())
            message += f"，事件已上报（#{event_id}）"
        except ValueError as exc:  # the visit stays recorded; the problem can be reported again
            return flask.jsonify(ok=False, error=f"走访已记录，但{exc}", recorded=True), 422
    return flask.jsonify(ok=True, message=message, duplicate=outcome.duplicate, event_id=event_id)
