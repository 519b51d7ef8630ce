"""Street-office spreadsheets (街道台账): CSV exports (UTF-8 or GBK), dropped in a folder or fetched by URL.

One event per row. The sheet declares which column identifies a row (`key`, default 事件编号) and
which one says when it last changed (`cursor`, default 更新时间): that column is this feed's
`cursor_field`, so the pipeline stores its newest value and the next pull only takes rows changed
after it (a URL is also asked with `?since=<cursor>`, for exports that can filter themselves).
A row that cannot be used is quarantined with its reason; the rest of the sheet goes on.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterator

from .base import FeedError, NormalisedEvent, Page, RawRecord, RecordError, Source, mappings, raw_text_of
from .fields import (category_by_code_or_name, description_field, parse_location, parse_time, require,
                     text_field)
from .http import DEFAULT_TIMEOUT, get_bytes, session
from .safety import decode_csv

PARSE_ERROR = "_csv_error"  # set on a record whose line the CSV reader could not split


def _columns() -> dict:
    return mappings()["street_sheets"]["columns"]


def parse_sheet(data: bytes, origin: str) -> list[dict]:
    """Rows of a CSV export as dicts keyed by its header, with `_file` and `_line` for the record.

    A line the reader cannot split, or one with more cells than the header, becomes a row carrying
    the reason instead of being dropped (it is quarantined with it).
    """
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise FeedError(f"表头无法读取：{origin}：{exc}") from exc
    rows: list[dict] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            rows.append({"_file": origin, "_line": reader.line_num, PARSE_ERROR: f"CSV 行无法解析：{exc}"})
            continue
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells))
        row.update(_file=origin, _line=reader.line_num)
        if len(cells) > len(header):
            row[PARSE_ERROR] = f"列数（{len(cells)}）多于表头（{len(header)}）"
        rows.append(row)


class StreetSheetSource(Source):
    """Every *.csv in a folder, or one CSV URL; rows changed after the cursor."""

    name = "street_sheets"
    label = "街道台账报送"
    short_label = "街道台账"
    colour = "#D55E00"  # vermillion
    primary_key = "事件编号"
    cursor_field = "更新时间"

    def __init__(self, location: str | Path, interval_seconds: int = 300, key: str | None = None,
                 cursor: str | None = None, since_param: str = "since"):
        self.location = str(location)
        self.is_url = self.location.startswith(("http://", "https://"))
        self.interval_seconds = interval_seconds
        self.primary_key = key or _columns()["key"]
        self.cursor_field = cursor or _columns()["cursor"]
        self.since_param = since_param
        if self.is_url:
            self.http = session()

    @classmethod
    def from_config(cls, options: dict, interval_seconds: int) -> "StreetSheetSource":
        """`url` or `folder` (created when missing); optional `key`, `cursor` columns and `since_param`."""
        unknown = set(options) - {"url", "folder", "key", "cursor", "since_param"}
        if unknown:
            raise ValueError(f"{cls.name}: unknown settings {', '.join(sorted(unknown))}")
        if bool(options.get("url")) == bool(options.get("folder")):
            raise ValueError(f"{cls.name}: needs url or folder (one of them)")
        if options.get("folder"):
            Path(options["folder"]).mkdir(parents=True, exist_ok=True)
        return cls(options.get("url") or options["folder"], interval_seconds, options.get("key"),
                   options.get("cursor"), options.get("since_param") or "since")

    def _sheets(self, cursor: str | None) -> Iterator[tuple[str, bytes]]:
        if self.is_url:
            params = {self.since_param: cursor} if cursor and self.since_param else None
            resp = get_bytes(self.http, self.location, params, timeout=DEFAULT_TIMEOUT)
            yield self.location.rsplit("/", 1)[-1] or self.location, resp.content
            return
        folder = Path(self.location)
        if not folder.is_dir():
            raise FeedError(f"投放目录不存在：{folder}")
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and not p.name.startswith(".")):
            yield path.name, path.read_bytes()

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """One page per sheet: its rows changed after `cursor` (rows whose time cannot be read too,
        so they reach quarantine with their reason)."""
        after = parse_time(cursor, "cursor") if cursor else None
        for origin, data in self._sheets(cursor):
            records = []
            for row in parse_sheet(data, origin):
                if after is not None:
                    try:
                        if parse_time(row.get(self.cursor_field), self.cursor_field) <= after:
                            continue
                    except RecordError:
                        pass
                key = str(row.get(self.primary_key) or "").strip() or None
                records.append(RawRecord(row, raw_text_of(row), key))
            yield Page(records, None)  # the pipeline advances the cursor on `cursor_field`

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Map one row through the `street_sheets` columns of mappings.yaml."""
        if isinstance(payload, dict) and payload.get(PARSE_ERROR):
            raise RecordError(f"第 {payload.get('_line')} 行：{payload[PARSE_ERROR]}")
        table = mappings()["street_sheets"]
        col = table["columns"]
        key = text_field(require(payload, self.primary_key, f"主键列 {self.primary_key}"), self.primary_key, 80)
        word = str(require(payload, col["category"], col["category"])).strip()
        category = table["categories"].get(word) or category_by_code_or_name(word)
        state = str(require(payload, col["status"], col["status"])).strip()
        if state not in table["statuses"]:
            raise RecordError(f"未知{col['status']}：{state[:40]!r}")
        status = table["statuses"][state]
        updated = parse_time(payload.get(self.cursor_field), self.cursor_field)
        reported = parse_time(payload.get(col["reported_at"]), col["reported_at"], required=False) or updated
        lon = lat = None
        if payload.get(col["lon"]) not in (None, "") or payload.get(col["lat"]) not in (None, ""):
            lon, lat = parse_location(payload.get(col["lon"]), payload.get(col["lat"]), "wgs84")
        description, truncated = description_field(payload.get(col["description"]))
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get(col["title"]) or word, col["title"]),
            description=description, lon=lon, lat=lat, address=text_field(payload.get(col["address"]), col["address"]),
            status=status, source_status=state, reported_at=reported, updated_at=updated,
            due_at=parse_time(payload.get(col["due_at"]), col["due_at"], required=False),
            closed_at=updated if status == "closed" else None, channel=self.short_label,
            reporter_name=text_field(payload.get(col["reporter"]), col["reporter"], 40) or None,
            reporter_phone=text_field(payload.get(col["phone"]), col["phone"], 20) or None,
            raw_payload=payload, notes=["描述已截断"] if truncated else [])
