"""Raised warnings (预警) and the notification outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class RaisedWarning(Base):
    """A raised warning (预警): once per condition, acknowledged by someone, cleared when it ends."""

    __tablename__ = "warning"
    __table_args__ = (Index("ix_warning_subject", "kind", "subject", "cleared_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))          # "event" or "grid"
    subject: Mapped[str] = mapped_column(String(60))       # event id or area code
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)
    level: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list | None] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the data version's max (cache.py)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(60))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Alarm management (#18, governance/alerts/alarm_mgmt.py): shelving (搁置), supervision (督办), floods.
    shelved_at: Mapped[datetime | None] = mapped_column(DateTime)
    shelved_by: Mapped[str | None] = mapped_column(String(60))
    shelved_until: Mapped[datetime | None] = mapped_column(DateTime)
    shelve_reason: Mapped[str | None] = mapped_column(String(200))
    supervised_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    supervisor_id: Mapped[int | None] = mapped_column(Integer)
    review_at: Mapped[datetime | None] = mapped_column(DateTime)
    flood_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Outbox(Base):
    """A notification waiting to be delivered (webhook), retried with backoff until sent."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
