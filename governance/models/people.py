"""Models of the people registry (人口底数): households, residents, places, import batches, counts.

ID numbers are never stored in clear: `resident.id_hmac` is a keyed HMAC-SHA256 of the normalised
number (the key derives from the app secret) for matching re-imports, `id_masked` is for display.
Rows that cannot be placed in a micro-grid are kept with `area_id` NULL and `unplaced` set.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class Household(Base):
    """A household (户) of the population platform, located to a micro-grid by its address."""

    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    hh_key: Mapped[str] = mapped_column(String(64), unique=True)  # the platform's 户编号
    address: Mapped[str] = mapped_column(String(200), default="")
    area_id: Mapped[int | None] = mapped_column(Integer)
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)
    unplaced: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Resident(Base):
    """A person registered in a household (where the person is located): 常住/流动, birth year, special groups,
    status (closed, never deleted)."""

    __tablename__ = "resident"
    __table_args__ = (Index("ix_resident_household", "household_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str | None] = mapped_column(String(2))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    household_id: Mapped[int | None] = mapped_column(Integer)  # located through its household
    residence: Mapped[str] = mapped_column(String(10), default="resident")  # resident 常住 / floating 流动
    groups: Mapped[str] = mapped_column(String(200), default="")  # ",elderly_alone,disabled," (codes, as data)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active / moved_out / deceased
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    row_hash: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Place(Base):
    """A rental flat (出租房) or business premises (经营场所), located like a household."""

    __tablename__ = "place"
    __table_args__ = (UniqueConstraint("kind", "place_key", name="uq_place_kind_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # rental / premises
    place_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str | None] = mapped_column(String(30))  # premises kind (餐饮, 小超市 …)
    licence: Mapped[str | None] = mapped_column(String(40))
    fire_checked_on: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    tenants: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(200), default="")
    area_id: Mapped[int | None] = mapped_column(Integer)
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)
    unplaced: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active / closed
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    row_hash: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PeopleImport(Base):
    """One import of a population-platform file: who, when, which file, and what changed."""

    __tablename__ = "people_import"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    file_name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)  # JSON: received, inserted, updated, closed, unchanged, …


class PeopleRollup(Base):
    """Registry counts per micro-grid path × metric (常住人口, 户数, each special group …), rebuilt on change."""

    __tablename__ = "people_rollup"
    area_path: Mapped[str] = mapped_column(AreaPath, primary_key=True)
    metric: Mapped[str] = mapped_column(String(30), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class VisitTask(Base):
    """One 关爱走访 visit owed to a household by its micro-grid's worker (a plan round or a 敲门行动 campaign)."""

    __tablename__ = "visit_task"
    __table_args__ = (Index("ix_visit_task_household_plan", "household_id", "plan"),
                      Index("ix_visit_task_staff_open", "staff_id", "done_at"),
                      # 敲门行动: one task per campaign and household, however often it is started (#19)
                      Index("ux_visit_task_campaign_household", "campaign_id", "household_id", unique=True))
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(String(40))  # the group code of the plan, or "campaign"
    campaign: Mapped[str | None] = mapped_column(String(60))
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[int | None] = mapped_column(Integer)  # an event raised from the visit
    campaign_id: Mapped[int | None] = mapped_column(Integer)  # the 敲门行动 (visit_campaign) it belongs to
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime)  # when the server received the visit (#19)
