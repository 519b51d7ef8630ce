"""What a worker's phone sends — 签收, 记录进展 (a note and/or a photo), 提交结果 — applied once per request id.

The phone names every action with an id it generated when the worker tapped (it may send the same
action again after losing signal). The first arrival is applied and its outcome kept in
worker_request; a later arrival of the same id is answered with that outcome and changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from . import photos
from .dispatch import DispatchError, add_progress, worker_advance
from ..models import Event, Staff, WorkerRequest
from .task_links import Grant
from ..core.workflow import STATES

KINDS = {"handle": "签收", "progress": "记录进展", "feedback": "提交结果"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
NO_GRANT = "链接无效、已过期或任务已改派"


@dataclass(frozen=True)
class Outcome:
    """The answer to one phone request: its message, whether it was applied, and whether it was a repeat."""

    message: str
    ok: bool = True
    duplicate: bool = False
    photo_id: int | None = None


@dataclass(frozen=True)
class PhotoUpload:
    """A file as it arrived: its bytes and declared content type."""

    data: bytes
    content_type: str | None


def earlier(conn: Connection, request_id, event_id) -> Outcome | None:
    """The outcome of a request id already applied to `event_id`, or None.

    Answered even when the credential no longer grants the task: the answer to 提交结果 was lost, and
    the link stopped granting the task the moment it was applied. A request id is 128 random bits
    made on the phone, and the answer is the step's label only.
    """
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        return None
    row = conn.execute(select(WorkerRequest.outcome).where(WorkerRequest.request_id == request_id,
                                                           WorkerRequest.event_id == event_id)).first()
    return Outcome(row.outcome, True, duplicate=True) if row else None


def check_request(request_id, event_id, kind, allowed: Grant | None) -> None:
    """Refuse a malformed request or one the credential does not grant (DispatchError, Chinese)."""
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise DispatchError("请求编号无效，请刷新页面后重试")
    if allowed is None or event_id not in allowed.event_ids:
        raise DispatchError(NO_GRANT)
    if kind not in KINDS:
        raise DispatchError("任务页只能签收、记录进展或提交结果")


def apply(conn: Connection, request_id: str, event_id: int, kind: str, note: str, photo: PhotoUpload | None,
          allowed: Grant | None, now: datetime, photo_dir: str, max_bytes: int, keep_location: bool,
          written: list) -> Outcome:
    """Apply one phone request inside the caller's transaction (DispatchError/PhotoError: nothing applied).

    Stored photo files are appended to `written`, so the caller can remove them if the transaction fails.
    """
    again = earlier(conn, request_id, event_id)
    if again is not None:
        return again
    check_request(request_id, event_id, kind, allowed)
    note = (note or "").strip()[:2000]
    prepared = photos.prepare(photo.data, photo.content_type, max_bytes, keep_location) if photo else None
    if kind == "progress" and not note and prepared is None:
        raise DispatchError("请填写处置说明或拍摄照片")
    if prepared is not None and kind == "handle":
        raise DispatchError("请先签收任务，再拍摄现场照片")
    status = conn.execute(select(Event.status).where(Event.id == event_id)).scalar()
    if kind != "handle" and status != "handle":
        raise DispatchError(f"只有“协同处置”中的任务可以{KINDS[kind]}（当前：{STATES.get(status, status)}）")
    conn.execute(insert(WorkerRequest), [{"request_id": request_id, "event_id": event_id,
                                          "staff_id": allowed.staff_id, "kind": kind, "received_at": now,
                                          "outcome": "处理中"}])
    name = conn.execute(select(Staff.name).where(Staff.id == allowed.staff_id)).scalar() or "网格员"
    photo_id = None
    if prepared is not None:  # before 提交结果: the photo belongs to the task while it is still in 处置
        names = photos.write_files(photo_dir, prepared, now)
        written.extend(names)
        photo_id = photos.record(conn, event_id, allowed.staff_id, name, now, prepared, names, request_id)
    if kind == "progress":
        if note:
            add_progress(conn, event_id, name, now, note)
        message = "进展已记录" + ("（含照片）" if photo_id else "")
    else:
        message = "已" + worker_advance(conn, event_id, allowed.staff_id, kind, name, now, note or None)
    conn.execute(update(WorkerRequest).where(WorkerRequest.request_id == request_id).values(outcome=message[:200]))
    return Outcome(message, True, photo_id=photo_id)
