"""HTTP routes of the worker's phone: its queued actions arrive here, and task photos are served from here.

POST /api/v1/worker/actions takes one action the phone queued (multipart: request_id, event_id, kind,
note, optional photo; X-Request-Id and X-Event-Id repeat the first two) with the task credential in the
X-Task-Credential header (a task link's token,
or "mine" with the signed-in worker's session). It answers JSON: 200 applied (or already applied
under that request id), 422/413 refused for good (the phone drops it and shows why), anything else
is retried later. GET /api/v1/photos/<id> serves a photo (or ?thumb=1 its thumbnail) to principals
whose scope holds the photo's event (the request guard checks `photo_id` before this code runs).
"""
from __future__ import annotations

from pathlib import Path

import flask
from flask import Blueprint, request
from werkzeug.exceptions import RequestEntityTooLarge

from governance.events import photos
from governance.events.dispatch import DispatchError
from governance.events.task_links import MINE, grant
from governance.events.worker_actions import NO_GRANT, Outcome, PhotoUpload, apply, earlier

from .runtime import current

worker_api = Blueprint("worker_api", __name__)
CREDENTIAL_HEADER = "X-Task-Credential"
REQUEST_HEADER, EVENT_HEADER = "X-Request-Id", "X-Event-Id"  # repeat the form's, readable before the body
FORM_SLACK = 256 * 1024  # the note and form fields around the photo


def max_photo_bytes() -> int:
    """The largest photo accepted (COCKPIT_PHOTO_MAX_MB)."""
    return int(current().settings.photo_max_mb * 1024 * 1024)


def _answer(outcome: Outcome | None, error: str | None = None, status: int = 200):
    if error is not None:
        return flask.jsonify(ok=False, error=error), status
    return flask.jsonify(ok=True, message=outcome.message, duplicate=outcome.duplicate,
                         photo=photos.url(outcome.photo_id, thumb=True) if outcome.photo_id else None), status


def _int(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 12 else None


@worker_api.post("/api/v1/worker/actions")
def worker_action():
    """Apply one queued phone action once (idempotent by its request id)."""
    from .auth import principal

    rt, written = current(), []
    credential = request.headers.get(CREDENTIAL_HEADER, "")
    own = principal().staff_id if credential == MINE else None
    with rt.engine.connect() as conn:  # a forged or dead credential is refused before its body is read …
        if grant(conn, credential, rt.now(), staff_id=own) is None:
            again = earlier(conn, request.headers.get(REQUEST_HEADER), _int(request.headers.get(EVENT_HEADER)))
            return _answer(again) if again else _answer(None, NO_GRANT, 422)  # … unless it was applied before
    limit = max_photo_bytes()
    request.max_content_length = limit + FORM_SLACK
    too_big = f"照片过大（上限 {rt.settings.photo_max_mb:g} MB），未保存"
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge:
        return _answer(None, too_big, 413)
    upload = files.get("photo")
    photo = PhotoUpload(upload.read(limit + 1), upload.mimetype) if upload and upload.filename else None
    settings = rt.settings
    try:
        with rt.engine.begin() as conn:
            allowed = grant(conn, credential, rt.now(), staff_id=own)
            outcome = apply(conn, form.get("request_id"), _int(form.get("event_id")), form.get("kind"),
                            form.get("note", ""), photo, allowed, rt.now(), settings.photo_dir, limit,
                            settings.photo_keep_location, written)
    except (DispatchError, photos.PhotoError) as exc:
        photos.remove_files(settings.photo_dir, written)
        return _answer(None, str(exc), 413 if "过大" in str(exc) else 422)
    except Exception:
        photos.remove_files(settings.photo_dir, written)
        with rt.engine.connect() as conn:  # a retry that raced its twin: the twin's answer
            again = earlier(conn, form.get("request_id"), _int(form.get("event_id")))
        if again is None:
            raise
        return _answer(again)
    return _answer(outcome)


@worker_api.get("/api/v1/photos/<int:photo_id>")
def photo_file(photo_id: int):
    """A task photo (or ?thumb=1 its thumbnail), for principals whose scope holds its event."""
    with current().engine.connect() as conn:
        found = photos.stored_file(conn, photo_id, thumb=request.args.get("thumb") == "1")
    return send_stored_photo(found)


def send_stored_photo(found: tuple[str, str] | None):
    """The response for a stored photo ((file name under COCKPIT_PHOTO_DIR, MIME type), as the scope-checked
    lookups answer); 404 when there is none or its file is gone."""
    path = Path(current().settings.photo_dir) / found[0] if found else None
    if path is None or not path.is_file():
        flask.abort(404)
    resp = flask.send_file(path, mimetype=found[1], max_age=0, conditional=True)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp
