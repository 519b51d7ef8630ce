"""Field parsers shared by the connectors: times, coordinates, codes and text, with clear errors."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

from governance.core.geo import to_wgs84
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import SHANGHAI, to_utc_naive

from .errors import RecordError

MAX_DESCRIPTION = 10_000
TRUNCATION_NOTE = "…（内容过长已截断，全文见原始记录）"
# China has kept UTC+8 all year since 1992 (summer time 1986–1991): naive times from then on
# convert by subtracting 8 hours, the zone database's result at a fraction of its cost.
_FIXED_SINCE = 1992
_SHANGHAI_OFFSET = timedelta(hours=8)
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
            "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d%H%M%S")


def parse_time(value: Any, field: str, required: bool = True) -> datetime | None:
    """Parse a timestamp (ISO 8601, common Chinese formats, epoch ms) to naive UTC.

    Times without a zone are Asia/Shanghai, as the feeds' own systems mean them.
    """
    if type(value) is str and value:  # the common case first: feeds send text
        return _parse_time_text(value, field)
    if value is None or value == "":
        if required:
            raise RecordError(f"缺少时间字段 {field}")
        return None
    if isinstance(value, bool):
        raise RecordError(f"时间字段 {field} 类型错误：{value!r}")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError) as exc:
            raise RecordError(f"时间字段 {field} 超出范围：{value!r}") from exc
    if isinstance(value, datetime):
        return to_utc_naive(value)
    if isinstance(value, date):
        return to_utc_naive(datetime(value.year, value.month, value.day))
    if not isinstance(value, str):
        raise RecordError(f"时间字段 {field} 类型错误：{type(value).__name__}")
    return _parse_time_text(value, field)


def _parse_time_text(value: str, field: str) -> datetime:
    text = value.strip()
    if text.endswith("+08:00") and text[10:11] in ("T", " "):  # the feeds' own zone, stated: no zone object
        try:
            parsed = datetime.fromisoformat(text[:-6])
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            return parsed - _SHANGHAI_OFFSET
    try:
        parsed = datetime.fromisoformat(text)  # ISO 8601, "Z" included (Python ≥ 3.11)
    except ValueError:
        parsed = None
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise RecordError(f"时间字段 {field} 无法解析：{text[:40]!r}")
    if parsed.tzinfo is None:
        if parsed.year >= _FIXED_SINCE:
            return parsed - _SHANGHAI_OFFSET
        parsed = parsed.replace(tzinfo=SHANGHAI)
    offset = parsed.utcoffset()
    try:
        return (parsed - offset).replace(tzinfo=None)
    except OverflowError as exc:
        raise RecordError(f"时间字段 {field} 超出范围：{text[:40]!r}") from exc


def parse_float(value: Any, field: str) -> float:
    """Parse a number (int, float or numeric string) or raise RecordError naming the field."""
    if type(value) is float:  # JSON numbers, the common case
        number = value
    elif isinstance(value, bool) or value is None or value == "":
        raise RecordError(f"缺少数值字段 {field}")
    else:
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise RecordError(f"数值字段 {field} 无法解析：{str(value)[:40]!r}") from exc
    if not math.isfinite(number):
        raise RecordError(f"数值字段 {field} 不是有限数：{value!r}")
    return number


def parse_location(lon: Any, lat: Any, datum: str = "wgs84") -> tuple[float, float]:
    """Validate a lon/lat pair in a datum and return it in WGS84 (RecordError when out of range)."""
    x, y = parse_float(lon, "经度"), parse_float(lat, "纬度")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise RecordError(f"坐标超出范围：经度 {x}，纬度 {y}")
    if not (72 <= x <= 138 and 0 <= y <= 56):
        raise RecordError(f"坐标不在中国境内（经纬度可能颠倒或为投影坐标）：{x}, {y}")
    if datum == "wgs84":  # most feeds: nothing to convert (and numpy's scalar overhead is not free)
        return x, y
    try:
        w_lon, w_lat = to_wgs84(x, y, datum)
    except ValueError as exc:
        raise RecordError(str(exc)) from exc
    return float(w_lon), float(w_lat)


def require(payload: dict, key: str, what: str | None = None) -> Any:
    """Return payload[key] or raise RecordError naming the missing field."""
    if not isinstance(payload, dict):
        raise RecordError(f"记录不是对象：{type(payload).__name__}")
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(f"缺少字段 {what or key}")
    return value


def text_field(value: Any, field: str, limit: int = 200) -> str:
    """Coerce a text field, cut to `limit` characters (for titles, addresses)."""
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise RecordError(f"文本字段 {field} 类型错误：{type(value).__name__}")
    return str(value).strip()[:limit]


def description_field(value: Any) -> tuple[str, bool]:
    """Return (description, truncated): long texts are cut; the raw payload keeps them whole."""
    text = text_field(value, "描述", limit=10**9)
    if len(text) > MAX_DESCRIPTION:
        return text[:MAX_DESCRIPTION] + TRUNCATION_NOTE, True
    return text, False


def map_code(table: dict, value: Any, what: str) -> Any:
    """Look a source code up in a mapping table, or raise RecordError naming the unknown code."""
    key = str(value).strip() if value is not None else ""
    if key not in table:
        raise RecordError(f"未知{what}：{key[:40]!r}")
    return table[key]


def category_by_code_or_name(value: Any) -> str:
    """Resolve a category given as our 4-digit code or its Chinese name."""
    taxonomy = load_taxonomy()
    key = str(value or "").strip()
    if key in taxonomy.categories:
        return key
    for code, cat in taxonomy.categories.items():
        if cat.name == key or cat.name.split("（")[0] == key:
            return code
    raise RecordError(f"未知事件类别：{key[:40]!r}")
