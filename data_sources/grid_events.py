"""大联动·微治理 grid events: own JSON envelope, own codes, GCJ-02 / BD-09 coordinates."""
from __future__ import annotations

from typing import Any, Iterator

from .base import FeedError, NormalisedEvent, Page, RawRecord, RecordError, mappings, raw_text_of
from .fields import description_field, map_code, parse_location, parse_time, require, text_field
from .http import HttpSource

DATUMS = {"gcj02": "gcj02", "gcj-02": "gcj02", "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09",
          "wgs84": "wgs84"}


class GridEventsSource(HttpSource):
    """GET {base_url}/dld/v1/events?since=<epoch ms>&limit=N → {code, msg, data: {records, next}}."""

    name = "grid_events"
    label = "大联动·微治理"
    short_label = "大联动"
    colour = "#009E73"  # bluish green
    primary_key = "eventId"
    cursor_field = "updateTime"  # the pages carry the system's own `next` (its newest updateTime)

    def __init__(self, base_url: str, interval_seconds: int = 30, limit: int = 500):
        super().__init__(base_url, interval_seconds)
        self.limit = limit

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """Pages of events updated after the cursor (epoch milliseconds, as the system counts)."""
        since = cursor or "0"
        for _ in range(10_000):
            doc = self.get("/dld/v1/events", {"since": since, "limit": self.limit})
            if not isinstance(doc, dict) or doc.get("code") != 0:
                msg = doc.get("msg") if isinstance(doc, dict) else None
                raise FeedError(f"大联动接口返回错误：{msg or '格式不符'}")
            data = doc.get("data") or {}
            records = data.get("records")
            if not isinstance(records, list):
                raise FeedError("大联动接口返回格式错误：缺少 data.records")
            nxt = str(data.get("next") or since)
            yield Page([RawRecord(r, raw_text_of(r), str(r.get("eventId")) if isinstance(r, dict)
                                  and r.get("eventId") else None) for r in records], nxt)
            if len(records) < self.limit or nxt == since:
                return
            since = nxt

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Map one grid event: codes via the table, coordinates converted to WGS84."""
        table = mappings()["grid_events"]
        key = str(require(payload, "eventId"))
        category = map_code(table["categories"], require(payload, "eventType"), "大联动事件类型")
        state = str(require(payload, "state"))
        status = map_code(table["statuses"], state, "大联动事件状态")
        loc = payload.get("location")
        lon = lat = None
        if loc is not None:
            if not isinstance(loc, dict):
                raise RecordError("location 字段应为对象")
            datum = DATUMS.get(str(loc.get("coordType", "gcj02")).lower())
            if datum is None:
                raise RecordError(f"未知坐标系：{loc.get('coordType')!r}")
            lon, lat = parse_location(loc.get("x"), loc.get("y"), datum)
        description, truncated = description_field(payload.get("eventDesc"))
        reported = parse_time(payload.get("reportTime"), "reportTime")
        updated = parse_time(payload.get("updateTime") or payload.get("reportTime"), "updateTime")
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get("eventTypeName") or "网格事件", "eventTypeName"),
            description=description, lon=lon, lat=lat, address=text_field(payload.get("addr"), "addr"),
            status=status, source_status=state, reported_at=reported, updated_at=updated,
            due_at=parse_time(payload.get("deadline"), "deadline", required=False),
            closed_at=updated if status == "closed" else None, channel=self.short_label,
            raw_payload=payload, notes=["描述已截断"] if truncated else [])
