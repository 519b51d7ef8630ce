"""Push intake: POST /api/v1/events (JSON, bearer token) for riders and systems that push."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from governance.accounts.api_clients import client_for_bearer
from governance.core.timeutil import utcnow

from .base import NormalisedEvent, RawRecord, Source, raw_text_of
from .fields import (category_by_code_or_name, description_field, parse_location, parse_time,
                     require, text_field)
from .pipeline import ingest_records, quarantine

MAX_ITEMS = 1000
MAX_BODY = 4 * 1024 * 1024

push = Blueprint("push", __name__)


class PushSource(Source):
    """Events pushed to the cockpit; `source_key` is the pushing system's own id."""

    name = "push"
    label = "主动推送"
    short_label = "推送"
    colour = "#F0E442"  # yellow
    primary_key = "source_key"
    cursor_field = None  # nothing is pulled: events arrive when they are pushed
    pulled = False

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Validate one pushed event; datum may be wgs84 (default), gcj02 or bd09."""
        key = text_field(require(payload, "source_key"), "source_key", 80)
        category = category_by_code_or_name(require(payload, "category"))
        lon, lat = parse_location(require(payload, "lon"), require(payload, "lat"),
                                  str(payload.get("datum") or "wgs84"))
        reported = parse_time(payload.get("reported_at"), "reported_at", required=False) or utcnow()
        description, truncated = description_field(payload.get("description"))
        reporter = payload.get("reporter") or {}
        if not isinstance(reporter, dict):
            reporter = {}
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get("title") or "网格上报", "title"), description=description,
            lon=lon, lat=lat, address=text_field(payload.get("address"), "address"),
            status="collect", source_status="new", reported_at=reported, updated_at=reported,
            channel=text_field(payload.get("channel") or "流动微网格员", "channel", 20),
            reporter_name=text_field(reporter.get("name"), "reporter.name", 40) or None,
            reporter_phone=text_field(reporter.get("phone"), "reporter.phone", 20) or None,
            raw_payload=payload, notes=["描述已截断"] if truncated else [])


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
