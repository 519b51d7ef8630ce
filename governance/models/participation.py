"""Tables of departments as participants (吹哨报到), 核实 and riders' 积分 (issue #20)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class DepartmentAccount(Base):
    """Which department a `department` account speaks for (its area scope is the account's area_code)."""

    __tablename__ = "department_account"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"), index=True)


class Whistle(Base):
    """One 吹哨: a department asked to 报到 on an event by a deadline, then to reply or hand it back."""

    __tablename__ = "whistle"
    __table_args__ = (Index("ix_whistle_dept_status", "department_code", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key to event (as task_link): PostgreSQL checks event references by trigger (0010).
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)
    status: Mapped[str] = mapped_column(String(12))  # pending · checked_in · replied · handed_back
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    checked_in_by: Mapped[str | None] = mapped_column(String(60))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    handed_back_at: Mapped[datetime | None] = mapped_column(DateTime)
    hand_back_reason: Mapped[str | None] = mapped_column(Text)


class Verification(Base):
    """核实 of a citizen's or rider's report: 属实 (true) or 不属实 (false), by whom and when."""

    __tablename__ = "verification"
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    verdict: Mapped[bool] = mapped_column(Boolean)
    verified_by: Mapped[str] = mapped_column(String(60))
    verified_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    reporter_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class RiderPoints(Base):
    """积分 a rider earned for one verified report (one row per report: awarded once)."""

    __tablename__ = "rider_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    event_id: Mapped[int] = mapped_column(Integer, unique=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(80))
    area_path: Mapped[str | None] = mapped_column(AreaPath, index=True)  # the rider's own area
    awarded_at: Mapped[datetime] = mapped_column(DateTime)
    awarded_by: Mapped[str] = mapped_column(String(60))
