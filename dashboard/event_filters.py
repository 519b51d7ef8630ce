"""Event filters in URLs: parse query arguments into an EventFilter and back (page + export); sources named."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlencode

from data_sources.registry import SOURCE_ORDER, source_label
from governance.events.event_search import EventFilter
from governance.core.workflow import STATES


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _list(value: str | None, allowed=None) -> tuple[str, ...]:
    items = tuple(v for v in (value or "").split(",") if v and len(v) <= 40)
    return tuple(v for v in items if allowed is None or v in allowed)


def filter_from_args(args: dict) -> EventFilter:
    """An EventFilter from query arguments (unknown or malformed values are ignored)."""
    get = lambda k: args.get(k) if isinstance(args.get(k), str) else None  # noqa: E731
    return EventFilter(start=_date(get("from")), end=_date(get("to")), sources=_list(get("source"), SOURCE_ORDER),
                       categories=_list(get("category")), communities=_list(get("community")),
                       statuses=_list(get("status"), STATES), text=(get("q") or "")[:50])


def filter_from_search(search: str | None) -> tuple[str | None, EventFilter]:
    """(area code, filter) from a query string."""
    qs = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}
    return qs.get("area"), filter_from_args(qs)


def filter_to_args(area: str | None, f: EventFilter) -> str:
    """The query string of an area and a filter."""
    params = {"area": area, "from": f.start.isoformat() if f.start else None,
              "to": f.end.isoformat() if f.end else None, "source": ",".join(f.sources),
              "category": ",".join(f.categories), "community": ",".join(f.communities),
              "status": ",".join(f.statuses), "q": f.text}
    return urlencode({k: v for k, v in params.items() if v})


def source_options() -> list[dict]:
    """The 来源 filter's options: every feed by its Chinese name, in registry order."""
    return [{"label": source_label(code), "value": code} for code in SOURCE_ORDER]


def labelled(row: dict) -> dict:
    """A ledger or export row (governance gives the source as its code) with the source's Chinese name."""
    return {**row, "source": source_label(row["source"])}
