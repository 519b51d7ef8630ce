"""The pushed feed: `PushSource` validates events handed in through POST /api/v1/events (dashboard/push_routes.py)."""
from __future__ import annotations

from typing import Any

from governance.core.timeutil import utcnow

from .base import NormalisedEvent, Source
from .fields import (category_by_code_or_name, description_field, parse_location, parse_time,
                     require, text_field)


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
