"""Safety inspections (安全隐患排查): CSV (UTF-8 or GBK) and Excel files dropped into a folder."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from .base import FeedError, NormalisedEvent, Page, RawRecord, RecordError, Source, mappings, raw_text_of
from .fields import description_field, map_code, parse_location, parse_time, require, text_field

COLUMNS = ["隐患编号", "排查时间", "隐患类别", "隐患描述", "地址", "经度", "纬度", "隐患等级",
           "整改期限", "整改状态", "排查人"]


def decode_csv(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FeedError("CSV 文件编码无法识别（既不是 UTF-8 也不是 GBK）")


def read_rows(path: Path) -> list[dict]:
    """Read a CSV or XLSX inspection file into row dicts keyed by its header."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any broken workbook is a feed error
            raise FeedError(f"Excel 文件无法读取：{path.name}：{exc}") from exc
        rows = list(wb.active.iter_rows(values_only=True))
        wb.close()
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        return [dict(zip(header, r)) for r in rows[1:] if any(v not in (None, "") for v in r)]
    text = decode_csv(path.read_bytes())
    reader = csv.DictReader(io.StringIO(text))
    return [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]


class SafetySource(Source):
    """Every *.csv / *.xlsx in `folder`; a file is read again only when its content changes."""

    name = "safety"
    label = "安全隐患排查"
    short_label = "安全排查"
    colour = "#E69F00"  # orange
    primary_key = "隐患编号"
    cursor_field = None  # the pages carry their own cursor: the digests of the files already read

    @classmethod
    def from_config(cls, options: dict, interval_seconds: int) -> "SafetySource":
        """A drop folder (created when missing)."""
        if not options.get("folder"):
            raise ValueError("safety: needs folder")
        Path(options["folder"]).mkdir(parents=True, exist_ok=True)
        return cls(options["folder"], interval_seconds)

    def __init__(self, folder: str | Path, interval_seconds: int = 60):
        self.folder = Path(folder)
        self.interval_seconds = interval_seconds

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """One page per new or changed file; the cursor lists the digests already ingested."""
        if not self.folder.is_dir():
            raise FeedError(f"投放目录不存在：{self.folder}")
        seen: list[str] = json.loads(cursor) if cursor else []
        files = sorted(p for p in self.folder.iterdir()
                       if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith("."))
        for path in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            rows = read_rows(path)
            records = [RawRecord({**row, "_file": path.name}, raw_text_of({**row, "_file": path.name}),
                                 str(row.get("隐患编号") or "") or None) for row in rows]
            seen = (seen + [digest])[-500:]
            yield Page(records, json.dumps(seen))

    def normalise(self, payload: Any) -> NormalisedEvent:
        """Map one inspection row: hazard level → severity, 整改期限 → due, 整改状态 → step."""
        table = mappings()["safety"]
        key = str(require(payload, "隐患编号")).strip()
        category = map_code(table["categories"], require(payload, "隐患类别"), "隐患类别")
        state = str(require(payload, "整改状态")).strip()
        status = map_code(table["statuses"], state, "整改状态")
        level = payload.get("隐患等级")
        severity = map_code(table["levels"], level, "隐患等级") if level else None
        reported = parse_time(payload.get("排查时间"), "排查时间")
        lon = lat = None
        if payload.get("经度") not in (None, "") or payload.get("纬度") not in (None, ""):
            lon, lat = parse_location(payload.get("经度"), payload.get("纬度"), "wgs84")
        due = parse_time(payload.get("整改期限"), "整改期限", required=False)
        if due is not None and isinstance(payload.get("整改期限"), str) and len(payload["整改期限"].strip()) <= 10:
            due += timedelta(days=1)  # a deadline date means "by the end of that day"
        description, truncated = description_field(payload.get("隐患描述"))
        inspector = text_field(payload.get("排查人"), "排查人", 40)
        if payload.get("_file") is None:
            raise RecordError("缺少来源文件名")
        return NormalisedEvent(
            source=self.name, source_key=key, category_code=category,
            title=text_field(payload.get("隐患类别"), "隐患类别") + f"（{self.short_label}）",
            description=description, lon=lon, lat=lat, address=text_field(payload.get("地址"), "地址"),
            severity=severity, status=status, source_status=state, reported_at=reported,
            updated_at=reported, due_at=due, closed_at=reported if status == "closed" else None,
            channel=self.short_label, reporter_name=inspector or None, raw_payload=payload,
            notes=["描述已截断"] if truncated else [])
