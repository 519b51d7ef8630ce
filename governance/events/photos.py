"""Task photos from a worker's phone: checked (declared type, real content, size), EXIF location stripped
or kept by setting, stored with a thumbnail under the deployment's photo directory, one audit row each.

Nothing is stored for a file that fails a check: `check_photo` runs before any row or file is written
and says why in Chinese. Files live at `<photo dir>/<yyyymm>/<random>.<ext>`; the database keeps the
relative names, so the directory can move with the deployment (COCKPIT_PHOTO_DIR).
"""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ..models import EventAudit, EventPhoto
from ..core.timeutil import to_local

# Declared content type → the format Pillow must find in the bytes, and the stored file's extension.
ALLOWED = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"), "image/webp": ("WEBP", "webp")}
MAX_PIXELS = 50_000_000           # larger images are refused (decompression bombs)
THUMB_SIZE = (320, 320)
GPS_IFD = 0x8825                  # the EXIF directory that holds the location
URL_PREFIX = "/api/v1/photos/"
AUDIT_FIELD = "照片"              # event_audit.field of photo rows (shown as is in the history)


class PhotoError(ValueError):
    """A file that cannot be stored as a task photo; the message says why (Chinese, for the worker)."""


@dataclass(frozen=True)
class Prepared:
    """A checked photo ready to store: the bytes to keep, the thumbnail's, and what they are."""

    data: bytes
    thumb: bytes
    content_type: str
    ext: str
    width: int
    height: int
    kept_location: bool


def _mb(n: float) -> str:
    """A size as people read it: "2.5 MB", "1 MB", or "640 KB" below a megabyte."""
    if n < 1024 * 1024:
        return f"{-(-int(n) // 1024)} KB"
    return f"{n / 1024 / 1024:.1f}".rstrip("0").rstrip(".") + " MB"


def check_photo(data: bytes, content_type: str | None, max_bytes: int):
    """The opened image when `data` is a real JPEG/PNG/WebP of its declared type within `max_bytes`;
    PhotoError (Chinese) otherwise."""
    from PIL import Image

    if not data:
        raise PhotoError("没有收到照片文件")
    if len(data) > max_bytes:
        raise PhotoError(f"照片过大（{_mb(len(data))}，上限 {_mb(max_bytes)}），未保存")
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in ALLOWED:
        raise PhotoError("只能上传照片（JPEG、PNG 或 WebP 图片），该文件未保存")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # reads the whole file: a truncated or forged image fails here
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError("照片像素过多，未保存")
        image.load()
    except PhotoError:
        raise
    except Exception as exc:  # Pillow raises many kinds for non-images and broken files
        raise PhotoError("文件不是有效的图片，未保存") from exc
    if image.format != ALLOWED[declared][0]:
        raise PhotoError("文件内容与图片类型不符，未保存")
    return image


def has_location(image) -> bool:
    """True when the image's EXIF carries a GPS location."""
    exif = image.getexif()
    return bool(exif.get_ifd(GPS_IFD)) or GPS_IFD in exif


def prepare(data: bytes, content_type: str | None, max_bytes: int, keep_location: bool) -> Prepared:
    """Check a photo and make what is stored: the original bytes (re-encoded without its GPS location
    unless `keep_location`) and a JPEG thumbnail (upright, no metadata)."""
    from PIL import ImageOps

    image = check_photo(data, content_type, max_bytes)
    declared = (content_type or "").split(";")[0].strip().lower()
    fmt, ext = ALLOWED[declared]
    stored = data
    if not keep_location and (has_location(image) or image.info.get("xmp")):  # XMP alone can hold GPS too
        exif = image.getexif()
        exif.pop(GPS_IFD, None)
        out = io.BytesIO()
        params = {"exif": exif.tobytes()}
        if fmt == "JPEG":
            params.update(quality=92, subsampling="keep" if image.mode != "P" else 0)
        image.info.pop("xmp", None)  # XMP can repeat the location: not carried over
        image.save(out, format=fmt, **params)
        stored = out.getvalue()
    thumb_src = ImageOps.exif_transpose(image).convert("RGB")
    thumb_src.thumbnail(THUMB_SIZE)
    thumb = io.BytesIO()
    thumb_src.save(thumb, format="JPEG", quality=80)
    return Prepared(stored, thumb.getvalue(), declared, ext, image.width, image.height,
                    kept_location=keep_location)


def write_files(directory: str | Path, photo: Prepared, now: datetime) -> tuple[str, str]:
    """Write the photo and its thumbnail under `directory`; their names relative to it."""
    sub = to_local(now).strftime("%Y%m")
    folder = Path(directory) / sub
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(16)
    name, thumb = f"{sub}/{stem}.{photo.ext}", f"{sub}/{stem}.thumb.jpg"
    (Path(directory) / name).write_bytes(photo.data)
    (Path(directory) / thumb).write_bytes(photo.thumb)
    return name, thumb


def remove_files(directory: str | Path, names) -> None:
    """Delete stored files (when the transaction that recorded them failed)."""
    for name in names:
        (Path(directory) / name).unlink(missing_ok=True)


def record(conn: Connection, event_id: int, staff_id: int | None, actor: str, now: datetime, photo: Prepared,
           names: tuple[str, str], request_id: str | None = None) -> int:
    """Insert the photo's row and its audit row (现场照片); the photo id."""
    photo_id = conn.execute(insert(EventPhoto).returning(EventPhoto.id), [{
        "event_id": event_id, "staff_id": staff_id, "request_id": request_id, "file_name": names[0],
        "thumb_name": names[1], "content_type": photo.content_type, "size_bytes": len(photo.data),
        "width": photo.width, "height": photo.height, "sha256": hashlib.sha256(photo.data).hexdigest(),
        "kept_location": photo.kept_location, "uploaded_at": now, "uploaded_by": actor[:60]}]).scalar()
    conn.execute(insert(EventAudit), [{"event_id": event_id, "at": now, "actor": actor[:60], "action": "现场照片",
                                       "field": AUDIT_FIELD, "from_value": None, "to_value": None,
                                       "note": f"照片 #{photo_id}（{photo.width}×{photo.height}，{_mb(len(photo.data))}）"}])
    return photo_id


def url(photo_id: int, thumb: bool = False) -> str:
    """The scope-checked address of a photo (or its thumbnail)."""
    return f"{URL_PREFIX}{photo_id}" + ("?thumb=1" if thumb else "")


def photos_of(conn: Connection, event_id: int) -> list[dict]:
    """An event's photos, oldest first (id, uploaded_at, uploaded_by, width, height)."""
    rows = conn.execute(select(EventPhoto.id, EventPhoto.uploaded_at, EventPhoto.uploaded_by, EventPhoto.width,
                               EventPhoto.height).where(EventPhoto.event_id == event_id).order_by(EventPhoto.id))
    return [dict(r._mapping) for r in rows]


def ids_by_event(conn: Connection, event_ids: list[int]) -> dict[int, list[int]]:
    """Photo ids per event (for exports), in chunks the databases accept."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(event_ids), 900):
        for eid, pid in conn.execute(select(EventPhoto.event_id, EventPhoto.id).where(
                EventPhoto.event_id.in_(event_ids[start:start + 900])).order_by(EventPhoto.id)):
            out.setdefault(eid, []).append(pid)
    return out


def stored_file(conn: Connection, photo_id: int, thumb: bool = False) -> tuple[str, str] | None:
    """(relative file name, content type) of a photo or its thumbnail, or None."""
    row = conn.execute(select(EventPhoto.file_name, EventPhoto.thumb_name, EventPhoto.content_type)
                       .where(EventPhoto.id == photo_id)).first()
    if row is None:
        return None
    return (row.thumb_name, "image/jpeg") if thumb else (row.file_name, row.content_type)
