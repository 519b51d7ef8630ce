"""Model of 敲门行动: a one-off visit campaign a leader started for one special group in one area (#19)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class VisitCampaign(Base):
    """A 敲门行动: one visit task per household of `group_code` in the area (tasks in visit_task.campaign_id)."""

    __tablename__ = "visit_campaign"
    # Starting the same campaign again (same name, group and area) reuses this row: one campaign, never two.
    __table_args__ = (Index("ux_visit_campaign_key", "area_path", "group_code", "name", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    group_code: Mapped[str] = mapped_column(String(40))
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)  # the area it was started in
    due_at: Mapped[datetime] = mapped_column(DateTime)  # 24:00 (Asia/Shanghai) of its due date, stored as UTC
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime)
