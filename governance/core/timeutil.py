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


def format_when(value: datetime | None, now: datetime) -> str:
    """A time people can't misread: HH:MM today, MM-DD HH:MM this year, YYYY-MM-DD HH:MM before."""
    local, today = to_local(value), to_local(now)
    if local is None:
        return "—"
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def overdue_days(due: datetime | None, now: datetime) -> int | None:
    """Whole days a deadline is past (0 within its first day), or None when it has not passed."""
    if due is None or due >= now:
        return None
    return (now - due).days


def format_overdue(due: datetime | None, now: datetime) -> str:
    """'超期 N 天' (or '超期 N 小时' within the first day) once a deadline has passed, else ''."""
    days = overdue_days(due, now)
    if days is None:
        return ""
    if days == 0:
        return f"超期 {max(1, int((now - due).total_seconds() // 3600))} 小时"
    return f"超期 {days} 天"


def format_deadline(due: datetime | None, now: datetime) -> str:
    """A deadline with its date (and year when not this year), and 超期 N 天 once it has passed."""
    if due is None:
        return "—"
    late = format_overdue(due, now)
    return format_when(due, now) + (f"（{late}）" if late else "")
