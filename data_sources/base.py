"""What every feed connector declares and returns: records, pages, normalised events, errors."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import orjson
import yaml

from .errors import FeedError, RecordError  # noqa: F401 - named here too, as every connector imports them
from .fields import parse_time

MAPPINGS_FILE = Path(__file__).with_name("mappings.yaml")


@dataclass
class RawRecord:
    """One record as received: the parsed payload (if it parsed) and its original text."""

    payload: Any
    raw_text: str
    key_hint: str | None = None


@dataclass
class Page:
    """A batch of records and the cursor to store once they are safely ingested."""

    records: list[RawRecord]
    cursor: str | None


@dataclass
class NormalisedEvent:
    """A record in Grid Cockpit's event model, before it is located and stored."""

    source: str
    source_key: str
    category_code: str
    title: str
    reported_at: datetime
    updated_at: datetime
    description: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    severity: int | None = None
    status: str = "collect"
    source_status: str | None = None
    due_at: datetime | None = None
    closed_at: datetime | None = None
    satisfaction: int | None = None
    channel: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    raw_payload: Any = None
    notes: list[str] = field(default_factory=list)
    # The record's text as its connector received it (set by the pipeline), so it is encoded once.
    received_text: str | None = None

    @property
    def raw_text(self) -> str | None:
        """The payload as text (JSON for structured records), the form it is stored in."""
        if self.received_text:
            return self.received_text
        return None if self.raw_payload is None else raw_text_of(self.raw_payload)


# Okabe–Ito: eight colours people with any common colour-vision deficiency can tell apart. A feed's
# colour comes from here; the black and the dark blue are left out (unreadable on the dark wall).
COLOUR_BLIND_SAFE = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#D55E00")


class Source:
    """Base of every connector: declares its names, colour, key, cursor and interval; yields pages.

    `name`, `label`, `short_label` and `colour` are the one declaration of how a feed is called and
    drawn: every screen (lists, detail, charts, legend, feed strip, exports) derives from them through
    data_sources.registry.
    """

    name: str = ""               # code stored in event.source, e.g. "cases"
    label: str = ""              # its Chinese name, e.g. 群众诉求
    short_label: str = ""        # 2–4 characters for chips and charts, e.g. 诉求
    colour: str = ""             # hex colour from COLOUR_BLIND_SAFE, distinct per feed
    primary_key: str = ""        # the field of the source's records that identifies them
    # The record field incremental pulls advance on. When a page carries no cursor of its own, the
    # pipeline stores the newest value of this field among the page's records (`next_cursor`) and
    # hands it back to `pages` on the next run. None: the feed has no record cursor (push), or its
    # pages carry one the records do not (a folder's file digests, a time window's end).
    cursor_field: str | None = None
    pulled: bool = True          # pulled on a schedule (False: events arrive by push)
    interval_seconds: int = 60

    @classmethod
    def from_config(cls, options: dict, interval_seconds: int) -> "Source":
        """Build the connector from its feeds.yaml entry (without `enabled`/`interval`).

        Raise ValueError saying what is missing; the default takes a `url`.
        """
        if not options.get("url"):
            raise ValueError(f"{cls.name}: needs url")
        return cls(options["url"], interval_seconds)

    def next_cursor(self, cursor: str | None, records: list["RawRecord"]) -> str | None:
        """The newest `cursor_field` value among `records` and `cursor` (unparseable values are skipped)."""
        if not self.cursor_field:
            return cursor
        newest, newest_at = cursor, None
        if cursor:
            try:
                newest_at = parse_time(cursor, "cursor")
            except RecordError:
                newest = None
        for rec in records:
            value = rec.payload.get(self.cursor_field) if isinstance(rec.payload, dict) else None
            if value in (None, "") or isinstance(value, bool):
                continue
            try:
                at = parse_time(value, self.cursor_field)
            except RecordError:
                continue
            if newest_at is None or at > newest_at:
                newest, newest_at = str(value).strip(), at
        return newest

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """Yield pages of new or changed records since `cursor` (raise FeedError on failure)."""
        raise NotImplementedError

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Turn one payload into a NormalisedEvent (raise RecordError when it is malformed)."""
        raise NotImplementedError


@lru_cache(maxsize=1)
def mappings() -> dict:
    """The per-source dialect tables of mappings.yaml."""
    return yaml.safe_load(MAPPINGS_FILE.read_text(encoding="utf-8"))


def raw_text_of(payload: Any) -> str:
    """Text form of a payload for quarantine and audit (JSON when possible)."""
    if isinstance(payload, (bytes, bytearray)):
        return payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        return payload
    try:  # orjson: compact UTF-8 JSON, ~9× faster than the standard library on feed records
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, ValueError):  # e.g. integers beyond 64 bits: the standard library takes them
        pass
    try:
        return json.dumps(payload, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(payload)
