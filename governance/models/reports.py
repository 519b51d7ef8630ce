"""Tables of the 工作简报 (issue #22): a generated weekly or monthly report with its files."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class Brief(Base):
    """A generated 工作简报 (weekly or monthly report of an area): its content and both files."""

    __tablename__ = "brief"
    __table_args__ = (Index("ix_brief_area_kind_period", "area_code", "kind", "period_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    area_code: Mapped[str] = mapped_column(String(40))
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)
    kind: Mapped[str] = mapped_column(String(10))              # "weekly" or "monthly"
    period_start: Mapped[datetime] = mapped_column(DateTime)
    period_end: Mapped[datetime] = mapped_column(DateTime)
    period_label: Mapped[str] = mapped_column(String(80))
    generated_at: Mapped[datetime] = mapped_column(DateTime)
    generated_by: Mapped[str] = mapped_column(String(80))
    content: Mapped[dict] = mapped_column(JSON)               # KPIs and tables, as rendered
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
