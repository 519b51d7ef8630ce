"""Events and how they arrive: events, intakes, the audit trail, task links, quarantine, feed state."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Area, AreaPath, Base, Category


class Event(Base):
    """One event from any feed, normalised: the unit every KPI, warning and dispatch works on."""

    # On PostgreSQL, category_code, area_id and duplicate_of_id (and event_audit.event_id) are enforced by
    # statement-level triggers instead of these foreign keys (migration 0010), for bulk-ingest speed.
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source", "source_key", name="uq_event_source_key"),
        Index("ix_event_status_reported", "status", "reported_at"),
        Index("ix_event_status_due", "status", "due_at"),
        Index("ix_event_area_status", "area_id", "status"),
        Index("ix_event_duplicate_of_id", "duplicate_of_id", sqlite_where=text("duplicate_of_id IS NOT NULL"),
              postgresql_where=text("duplicate_of_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")
    # Resolved micro-grid (None when the point lies outside every grid: kept and flagged).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)
    outside_grid: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default="collect")
    # The status as the source last reported it (its own code); local steps are kept when unchanged.
    source_status: Mapped[str | None] = mapped_column(String(30))
    handling_level: Mapped[str] = mapped_column(String(12), default="grid")
    # When the event reached its current handling level (escalation clock of 分级预控).
    level_since: Mapped[datetime | None] = mapped_column(DateTime)
    reported_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    assignee_department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    reporter_name: Mapped[str | None] = mapped_column(String(40))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    # Partial index: only links are indexed, so "duplicate_of_id IS NULL" filters never pick it.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The record exactly as the feed sent it (text), kept for audit and re-processing.
    raw_payload: Mapped[str | None] = mapped_column(Text)
    # The feed batch that created the event (its 接入 entry in the history); None for events made here.
    # No foreign key: intake rows are append-only provenance, and a per-row check would cost bulk ingest.
    intake_id: Mapped[int | None] = mapped_column(Integer)

    area: Mapped[Area | None] = relationship(foreign_keys=[area_id])
    category: Mapped[Category] = relationship()


class Intake(Base):
    """One batch of feed records stored together: when, by which feed, how many events it created.

    Each event it created carries its id, so an event's history shows its 接入 (which feed, when,
    in what state) without an audit row per event; later changes are audit rows as usual.
    """

    __tablename__ = "intake"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    events: Mapped[int] = mapped_column(Integer)


class EventAudit(Base):
    """One recorded change to an event: who, when, which field, from what, to what."""

    __tablename__ = "event_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    # On PostgreSQL enforced by a statement-level trigger, not this foreign key (migration 0010).
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    field: Mapped[str] = mapped_column(String(30))
    from_value: Mapped[str | None] = mapped_column(String(200))
    to_value: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class TaskLink(Base):
    """A grid worker's link to one task (/worker/<token>): the token is stored as SHA-256 only.

    Minted on dispatch, 改派 and re-issue (each revokes the event's earlier links), revoked on 召回,
    核查办结 or by a leader, and dead after expires_at; it grants only while the event is still
    assigned to staff_id and in 任务分办 or 协同处置 (governance.events.task_links).
    """

    __tablename__ = "task_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # No foreign key to event, as for intake_id: on PostgreSQL a real one would make TRUNCATE event
    # fail before migration 0010's triggers can check it. staff is referenced by real keys already.
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(60))


class WorldInfo(Base):
    """Key/value facts about the seeded world (scale, seed, focus area, generated_at)."""

    __tablename__ = "world_info"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Quarantine(Base):
    """A feed record that could not be normalised or stored, kept as received with its reason."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20), index=True)
    source_key: Mapped[str | None] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class SourceState(Base):
    """Persistent cursor and health of one feed: last success, counts, last error, retry time."""

    __tablename__ = "source_state"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    records_in: Mapped[int] = mapped_column(Integer, default=0)
    records_out: Mapped[int] = mapped_column(Integer, default=0)
    records_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    runs: Mapped[int] = mapped_column(Integer, default=0)


class JobLease(Base):
    """A lease that lets exactly one process run a scheduled job at a time."""

    __tablename__ = "job_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    runs: Mapped[int] = mapped_column(Integer, default=0)
