"""The view a URL describes (area, metric, period, overlays), parsed and formatted safely."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

from governance.reports.area_stats import METRICS
from governance.figures.kpis import PERIODS

_CODE = re.compile(r"^[0-9A-Za-z\-]{1,40}$")


@dataclass(frozen=True)
class ViewState:
    """Bookmarkable cockpit state: which area, which map metric, which KPI period."""

    area: str | None = None
    metric: str = "open"
    period: str = "year"
    dedicated: bool = False
    markers: bool = False  # warning points cover the choropleth: one click away, off unless asked for
    micro: bool = False  # colour every micro-grid of the area instead of its direct children

    def with_(self, **changes) -> "ViewState":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_hash(self) -> str:
        """The fragment (`#area=…`) in-app navigation writes: it changes no page, only the view."""
        return "#" + self.to_search()[1:]

    def to_search(self) -> str:
        """The query string (`?area=…&metric=…`) for this state."""
        params = {"area": self.area, "metric": self.metric, "period": self.period}
        if self.dedicated:
            params["dedicated"] = "1"
        if self.markers:
            params["markers"] = "1"
        if self.micro:
            params["micro"] = "1"
        return "?" + urlencode({k: v for k, v in params.items() if v})


def parse_search(search: str | None, default_area: str | None = None) -> ViewState:
    """Parse a query string or fragment; anything unknown or malformed falls back to the default."""
    qs = parse_qs((search or "").lstrip("?#"))
    first = lambda key: (qs.get(key) or [None])[0]  # noqa: E731
    area = first("area")
    if not area or not _CODE.match(area):
        area = default_area
    metric = first("metric") if first("metric") in METRICS else "open"
    period = first("period") if first("period") in PERIODS else "year"
    return ViewState(area=area, metric=metric, period=period, dedicated=first("dedicated") == "1",
                     markers=first("markers") == "1", micro=first("micro") == "1")
