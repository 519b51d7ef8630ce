"""SQLAlchemy 2 typed models: area hierarchy, staff, departments, categories, events, audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Area levels of the "3+1" hierarchy, top to bottom; dedicated grids overlay a community.
AREA_LEVELS: dict[str, str] = {
    "city": "市",
    "district": "区（县）",
    "subdistrict": "街道",
    "community": "社区（总网格）",
    "general_grid": "一般网格",
    "micro_grid": "微网格",
    "dedicated_grid": "专属网格",
}
CHILD_LEVEL = {"city": "district", "district": "subdistrict", "subdistrict": "community",
               "community": "general_grid", "general_grid": "micro_grid"}
DEDICATED_KINDS = {"school": "学校", "market": "农贸市场", "office": "商务楼宇",
                   "hospital": "医院", "business_street": "商业街区"}
STAFF_ROLES = {
    "grid_leader": "网格长",
    "grid_worker": "网格员",
    "micro_grid_worker": "微网格员",
    "mobile_worker": "流动微网格员",
    "specialist": "下沉专员",
    "supervisor": "社区党风政风廉情监督员",
}


# Area paths ("/1/23/456/") compare byte by byte on every database: subtree filters are the range
# [path, path-with-'0'-for-its-last-'/') and rely on '/' sorting just before '0'. SQLite compares
# bytes already; on PostgreSQL a database created with a glibc locale such as en_US.UTF-8 or
# zh_CN.UTF-8 would ignore the slashes, and "/1/2/5/" would fall outside "/1/2/" (migration 0011).
AreaPath = String(400).with_variant(String(400, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every Grid Cockpit table."""


class Area(Base):
    """One node of the area tree: city, district, sub-district, community, grid or dedicated grid."""

    __tablename__ = "area"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    # Materialised path of codes ("/510100/510107/…/"), for subtree queries and role scope.
    path: Mapped[str] = mapped_column(AreaPath, index=True)
    dedicated_kind: Mapped[str | None] = mapped_column(String(20))
    households: Mapped[int | None] = mapped_column(Integer)
    residents: Mapped[int | None] = mapped_column(Integer)
    # Geometry as WGS84 GeoJSON text (portable); bbox and centroid columns for cheap queries.
    geometry: Mapped[str] = mapped_column(Text)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Shift(Base):
    """A duty shift pattern (常规班, 错时班, 延时班 …): weekdays 1–7 and local start/end times."""

    __tablename__ = "shift"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    weekdays: Mapped[str] = mapped_column(String(7))
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))


class Staff(Base):
    """A grid worker, grid leader, micro-grid volunteer, rider or sunk-down specialist."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(24), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    is_volunteer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    specialty: Mapped[str | None] = mapped_column(String(40))
    shift_code: Mapped[str] = mapped_column(ForeignKey("shift.code"))

    area: Mapped[Area] = relationship()
    shift: Mapped[Shift] = relationship()


class Department(Base):
    """A department that can be whistled in (吹哨报到)."""

    __tablename__ = "department"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))


class Category(Base):
    """An event category: a major class (大类, parent None) or a minor class (小类)."""

    __tablename__ = "category"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("category.code"))
    family: Mapped[str] = mapped_column(String(30))
    sla_hours: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(20))


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
    assigned to staff_id and in 任务分办 or 协同处置 (governance.task_links).
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


class ApiClient(Base):
    """A system allowed to push events (token stored as SHA-256 only); revocable."""

    __tablename__ = "api_client"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # What the client may do: "push" (POST events) and/or "embed" (mint portal embed tokens).
    scopes: Mapped[str] = mapped_column(String(60), default="push", server_default="push")
    # For "embed": the area subtree the client may mint tokens for (None: nothing).
    area_code: Mapped[str | None] = mapped_column(String(40))


class Warning(Base):
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
    # Alarm management (#18, governance/alarm_mgmt.py): shelving (搁置), supervision (督办), floods.
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


class UserAccount(Base):
    """A person who signs in: role + home area define what they may see and do."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    area_code: Mapped[str | None] = mapped_column(String(40))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class KioskDevice(Base):
    """A wall display: long-lived device token (stored hashed), its area and view playlist."""

    __tablename__ = "kiosk_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    area_code: Mapped[str] = mapped_column(String(40))
    playlist: Mapped[list | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuthSession(Base):
    """A signed-in browser (person or wall device); the cookie holds a random id stored hashed."""

    __tablename__ = "auth_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "user" or "kiosk"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_device.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginAttempt(Base):
    """One sign-in attempt, for rate limiting by account and by client address."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_user_at", "username", "at"), Index("ix_login_attempt_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)


class AccessLog(Base):
    """Security-relevant actions: sign-in/out, unmasking personal data, accounts, devices, tokens."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30), index=True)
    target: Mapped[str | None] = mapped_column(String(120))
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)  # the acting principal's area (0025)


# Tables declared in their own modules, on the same Base (imported here so the metadata holds them, and
# re-exported so `from governance.models import …` finds every table).
from . import people_models  # noqa: E402,F401  (people registry tables, #19)
from . import admin_models  # noqa: E402,F401 - admin console tables (#22) on the same Base
from .report_models import Brief  # noqa: E402,F401
from .phone_models import EventPhoto, WorkerRequest  # noqa: E402,F401
from .participation_models import DepartmentAccount, RiderPoints, Verification, Whistle  # noqa: E402,F401
from .rollup_models import EventRollup, RollupDirty, ScopeRollup  # noqa: E402,F401
from . import form_models  # noqa: E402,F401 - 统一表单推送 tables (#19)
from . import campaign_models  # noqa: E402,F401 - 敲门行动 campaigns (#19)
