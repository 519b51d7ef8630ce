"""Open311 GeoReport v2: GET requests.json in windows of at most 90 days (the standard's limit)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

from governance.core.timeutil import to_local, utcnow

from .base import FeedError, NormalisedEvent, Page, RawRecord, mappings, raw_text_of
from .fields import description_field, map_code, parse_location, parse_time, require, text_field
from .http import HttpSource

MAX_WINDOW = timedelta(days=90)
LOOKBACK = timedelta(days=7)  # re-read a week back so status changes of recent requests arrive


class Open311Source(HttpSource):
    """Any GeoReport v2 endpoint: start_date/end_date windows, status open and closed."""

    name = "open311"
    label = "市政服务请求"
    short_label = "市政服务"
    colour = "#CC79A7"  # reddish purple
    primary_key = "service_request_id"
    cursor_field = None  # the pages carry their own cursor: the end of the window read

    def __init__(self, base_url: str, interval_seconds: int = 60, first_start=None, clock=utcnow):
        super().__init__(base_url, interval_seconds)
        self.first_start = first_start
        self.clock = clock

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """One page per window from (cursor − lookback) to now, each at most 90 days long."""
        now = self.clock()
        if cursor:
            start = parse_time(cursor, "cursor") - LOOKBACK
        else:
            start = self.first_start or now - timedelta(days=30)
        while start < now:
            end = min(start + MAX_WINDOW, now)
            params = {"start_date": to_local(start).isoformat(), "end_date": to_local(end).isoformat()}
            doc = self.get("/requests.json", params)
            if not isinstance(doc, list):
                raise FeedError("GeoReport 返回格式错误：应为请求列表")
            records = [RawRecord(r, raw_text_of(r), str(r.get("service_request_id"))
                                 if isinstance(r, dict) and r.get("service_request_id") else None)
                       for r in doc]
            yield Page(records, to_local(end).isoformat())
            start = end

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Map one service request (lat/long are WGS84 by the standard)."""
        table = mappings()["open311"]
        key = str(require(payload, "service_request_id"))
        category = map_code(table["categories"], require(payload, "service_code"), "service_code")
        status_word = str(require(payload, "status")).lower()
        status = map_code(table["statuses"], status_word, "status")
        lon = lat = None
        if payload.get("long") not in (None, "") or payload.get("lat") not in (None, ""):
            lon, lat = parse_location(payload.get("long"), payload.get("lat"), "wgs84")
        reported = parse_time(payload.get("requested_datetime"), "requested_datetime")
        updated = parse_time(payload.get("updated_datetime"), "updated_datetime", required=False) or reported
        description, truncated = description_field(payload.get("description"))
        notes = text_field(payload.get("status_notes"), "status_notes", 500)
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get("service_name") or payload.get("service_code"), "service_name"),
            description=description + (f"\n【处理说明】{notes}" if notes else ""), lon=lon, lat=lat,
            address=text_field(payload.get("address"), "address"), status=status,
            source_status=status_word, reported_at=reported, updated_at=updated,
            due_at=parse_time(payload.get("expected_datetime"), "expected_datetime", required=False),
            closed_at=updated if status == "closed" else None, channel="Open311",
            raw_payload=payload, notes=["描述已截断"] if truncated else [])
