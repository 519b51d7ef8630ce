"""POST /api/v1/events: systems with a push token hand events in; each record goes through the feed pipeline."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from data_sources.base import RawRecord, raw_text_of
from data_sources.pipeline import ingest_records, quarantine
from data_sources.push import PushSource
from governance.accounts.api_clients import client_for_bearer
from governance.core.timeutil import utcnow

MAX_ITEMS = 1000
MAX_BODY = 4 * 1024 * 1024

push = Blueprint("push", __name__)


def _client(engine) -> str | None:
    """The name of the push client the request's bearer token belongs to, or None."""
    with engine.begin() as conn:  # the client's last use is noted
        row = client_for_bearer(conn, request.headers.get("Authorization"), "push")
    return row.name if row is not None else None


@push.post("/api/v1/events")
def push_events():
    """Accept one event or a list; answer 202 with per-record quarantine reasons."""
    engine = current_app.config["COCKPIT_ENGINE"]  # set by the app factory that registers this blueprint
    client = _client(engine)
    if client is None:
        return jsonify(error="未授权：需要有效的 Bearer 令牌"), 401
    if request.content_length and request.content_length > MAX_BODY:
        return jsonify(error=f"请求体过大（上限 {MAX_BODY // 1024 // 1024} MB）"), 413
    body = request.get_data(cache=False)
    try:
        doc = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):  # malformed JSON: keep it, answer 400
        doc = None
    if doc is None or not isinstance(doc, (dict, list)):
        quarantine(engine, "push", [(RawRecord(None, raw_text_of(body)), "请求体不是合法的 JSON 对象或数组")],
                   utcnow())
        return jsonify(error="请求体不是合法的 JSON 对象或数组（已留存待查）"), 400
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > MAX_ITEMS:
        return jsonify(error=f"单次最多 {MAX_ITEMS} 条"), 413
    records = [RawRecord(item, raw_text_of(item), str(item.get("source_key")) if isinstance(item, dict)
                         and item.get("source_key") else None) for item in items]
    stats = ingest_records(engine, PushSource(), records, actor=f"推送:{client}")
    current_app.logger.info("push from %s: %s in, %s quarantined", client, stats.received, stats.quarantined)
    return jsonify(accepted=stats.out, inserted=stats.inserted, updated=stats.updated,
                   quarantined=[{"index": i, "reason": r} for i, r in stats.rejections]), 202
