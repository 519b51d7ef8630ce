"""Tables of the worker's phone (issue #20): task photos and the phone queue's applied requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class EventPhoto(Base):
    """A photo a worker took for an event: the checked image and its thumbnail under COCKPIT_PHOTO_DIR
    (governance.events.photos); served only to principals whose scope holds the event."""

    __tablename__ = "event_photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key to event, as task_link
    staff_id: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))   # relative to the photo directory
    thumb_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    kept_location: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    uploaded_by: Mapped[str] = mapped_column(String(60))


class WorkerRequest(Base):
    """One action sent from a worker's phone (note, photo, step), by the id the phone gave it: a retry
    of the same request id is answered from here and never applied twice (governance.events.worker_actions)."""

    __tablename__ = "worker_request"
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    staff_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(200))
