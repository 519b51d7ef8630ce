"""Time helpers: storage is naive UTC, display and 'today' are Asia/Shanghai."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Return the current time as naive UTC, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    """Convert an aware datetime (or a naive one meaning Asia/Shanghai) to naive UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(value: datetime | None) -> datetime | None:
    """Convert a stored naive-UTC datetime to an aware Asia/Shanghai datetime."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(SHANGHAI)


def local_day_start(now_utc: datetime, days_back: int = 0) -> datetime:
    """Return naive-UTC midnight (Asia/Shanghai) of the local day `days_back` days before now."""
    local = to_local(now_utc)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_back)
    return to_utc_naive(midnight)


def format_local(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """Format a stored naive-UTC datetime in Asia/Shanghai for display."""
    local = to_local(value)
    return local.strftime(fmt) if local else "—"
