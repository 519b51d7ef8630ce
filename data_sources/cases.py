"""Citizen cases (诉求: 12345 hotline, 蓉e报): a paged REST JSON API pulled by `updated_at`."""
from __future__ import annotations

from typing import Any, Iterator


from .base import FeedError, NormalisedEvent, Page, RawRecord, RecordError, mappings, raw_text_of
from .fields import (description_field, map_code, parse_location, parse_time, require, text_field)
from .http import HttpSource


class CasesSource(HttpSource):
    """GET {base_url}/api/cases?updated_since=…&page=N&page_size=M, oldest change first."""

    name = "cases"
    label = "群众诉求"
    short_label = "诉求"
    colour = "#56B4E9"  # sky blue
    primary_key = "case_no"
    cursor_field = "updated_at"

    def __init__(self, base_url: str, interval_seconds: int = 30, page_size: int = 200):
        super().__init__(base_url, interval_seconds)
        self.page_size = page_size

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """Pages of cases changed since the cursor (the newest `updated_at` stored by the pipeline)."""
        page_no = 1
        while True:
            params = {"page": page_no, "page_size": self.page_size}
            if cursor:
                params["updated_since"] = cursor
            doc = self.get("/api/cases", params)
            items = doc.get("items") if isinstance(doc, dict) else None
            if not isinstance(items, list):
                raise FeedError(f"诉求接口返回格式错误：缺少 items 列表（第 {page_no} 页）")
            records = []
            for item in items:
                key = item.get("case_no") if isinstance(item, dict) else None
                records.append(RawRecord(item, raw_text_of(item), str(key) if key else None))
            yield Page(records, None)  # the pipeline advances the cursor on `cursor_field`
            if page_no >= int(doc.get("total_pages") or 1) or not items:
                return
            page_no += 1

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Map one case to the event model (status words, satisfaction words, citizen)."""
        table = mappings()["cases"]
        key = str(require(payload, "case_no", "诉求编号 case_no"))
        category = map_code(table["categories"], require(payload, "type_code", "类别 type_code"), "诉求类别")
        status_word = str(require(payload, "status", "状态 status"))
        status = map_code(table["statuses"], status_word, "诉求状态")
        reported = parse_time(payload.get("accept_time"), "accept_time")
        updated = parse_time(payload.get("updated_at") or payload.get("accept_time"), "updated_at")
        lon = lat = None
        if payload.get("lng") not in (None, "") or payload.get("lat") not in (None, ""):
            lon, lat = parse_location(payload.get("lng"), payload.get("lat"), "wgs84")
        description, truncated = description_field(payload.get("content"))
        sat_word = payload.get("satisfaction")
        satisfaction = map_code(table["satisfaction"], sat_word, "满意度") if sat_word else None
        citizen = payload.get("citizen") or {}
        if not isinstance(citizen, dict):
            raise RecordError("citizen 字段应为对象")
        closed = parse_time(payload.get("finish_time"), "finish_time", required=False)
        if status == "closed" and closed is None:
            closed = updated
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get("title") or payload.get("type_name") or self.label, "title"),
            description=description, lon=lon, lat=lat,
            address=text_field(payload.get("address"), "address"), status=status,
            source_status=status_word, reported_at=reported, updated_at=updated,
            due_at=parse_time(payload.get("deadline"), "deadline", required=False), closed_at=closed,
            satisfaction=satisfaction, channel=text_field(payload.get("channel"), "channel", 20) or None,
            reporter_name=text_field(citizen.get("name"), "citizen.name", 40) or None,
            reporter_phone=text_field(citizen.get("phone"), "citizen.phone", 20) or None,
            raw_payload=payload, notes=["描述已截断"] if truncated else [])
