"""Models of 统一表单推送: a form a leader pushed to an area, and one assignment per target (answered once)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import AreaPath, Base


class FormPush(Base):
    """A short form (questions as validated JSON, governance.people.forms) pushed to an area's workers or premises."""

    __tablename__ = "form_push"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(60))
    questions: Mapped[str] = mapped_column(Text)  # JSON list of {key, kind, text, options, safety, category}
    target: Mapped[str] = mapped_column(String(12))  # workers / premises
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)  # the area it was pushed to
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)


class FormAssignment(Base):
    """One form owed by one worker (for themselves, or for one 经营场所); its answers land here once."""

    __tablename__ = "form_assignment"
    __table_args__ = (Index("ix_form_assignment_staff_open", "staff_id", "answered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(Integer, index=True)
    staff_id: Mapped[int | None] = mapped_column(Integer)  # None: no worker covers that micro-grid
    place_id: Mapped[int | None] = mapped_column(Integer)  # the premises, for a premises form
    label: Mapped[str] = mapped_column(String(200), default="")  # what the answer is about (place name, address)
    area_path: Mapped[str] = mapped_column(AreaPath, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by: Mapped[str | None] = mapped_column(String(60))
    answers: Mapped[str | None] = mapped_column(Text)  # JSON {question key: answer}
    event_ids: Mapped[str | None] = mapped_column(String(200))  # events raised by safety "no" answers


class FormPhoto(Base):
    """A photo answer of one assignment's question (#19): checked and stored like a task photo
    (governance.events.photos) under COCKPIT_PHOTO_DIR; served only to principals whose scope holds the assignment."""

    __tablename__ = "form_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(Integer, index=True)
    question: Mapped[str] = mapped_column(String(8))  # the question key (q1, q2 …)
    staff_id: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))  # relative to the photo directory
    thumb_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    kept_location: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    uploaded_by: Mapped[str] = mapped_column(String(60))
