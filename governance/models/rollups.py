"""Rollup tables: per-area, per-day event counts kept up to date as events change (governance.figures.rollups)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class EventRollup(Base):
    """Counted events (no duplicates, no drills) per micro-grid path × local report day × source ×
    category × status: the pre-aggregate the map's figures read (kept current by governance.figures.rollups)."""

    __tablename__ = "event_rollup"
    area_path: Mapped[str] = mapped_column(AreaPath, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ScopeRollup(Base):
    """Daily facets (status, category, hour, closed, open) of a community or an ancestor area: what KPIs,
    trends and the upper map levels read (kept current by governance.figures.scope_rollups)."""

    __tablename__ = "scope_rollup"
    __table_args__ = (Index("ix_scope_rollup_level_day", "level", "day"),)
    area_path: Mapped[str] = mapped_column(AreaPath, primary_key=True)
    facet: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)


class RollupDirty(Base):
    """A (micro-grid path, day) group whose rollup rows must be recomputed (written with each change)."""

    __tablename__ = "rollup_dirty"
    id: Mapped[int] = mapped_column(primary_key=True)
    area_path: Mapped[str] = mapped_column(AreaPath)
    day: Mapped[date] = mapped_column(Date)
