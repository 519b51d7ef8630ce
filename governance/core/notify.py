"""Deliver outbox notifications to a WeCom (企业微信) or DingTalk (钉钉) group robot, with retries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ..models import Outbox

FORMATS = ("wecom", "dingtalk")
MAX_BACKOFF = timedelta(hours=1)


def robot_message(payload: dict, fmt: str) -> dict:
    """The group-robot JSON body for a notification (markdown, in each robot's own format)."""
    text = f"### {payload['title']}\n{payload.get('text') or ''}\n> {payload.get('footer') or '网格驾驶舱 · 分色预警'}"
    if fmt == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": text}}
    if fmt == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": payload["title"], "text": text}}
    raise ValueError(f"unknown webhook format {fmt!r}: choose one of {', '.join(FORMATS)}")


@dataclass
class DeliveryResult:
    """Counts of one delivery round."""

    sent: int = 0
    failed: int = 0


def robot_accepted(resp: requests.Response) -> bool:
    """Both robots answer HTTP 200 with errcode 0 on success."""
    if resp.status_code != 200:
        return False
    try:
        return int(resp.json().get("errcode", 0)) == 0
    except (ValueError, AttributeError):
        return True


def deliver_outbox(engine: Engine, url: str, fmt: str, now: datetime, timeout: float = 5.0,
                   limit: int = 50) -> DeliveryResult:
    """Send due notifications; a failure is retried later with exponential backoff.

    Each row is sent at most once successfully: it is marked sent in the same step that saw the
    robot accept it. A slow or dead webhook only delays this job (short timeout), nothing else.
    """
    result = DeliveryResult()
    with engine.connect() as conn:
        due = conn.execute(select(Outbox).where(Outbox.channel == "webhook", Outbox.sent_at.is_(None),
                                                Outbox.next_attempt_at <= now)
                           .order_by(Outbox.id).limit(limit)).all()
    session = requests.Session()
    for row in due:
        error = None
        try:
            resp = session.post(url, json=robot_message(row.payload, fmt), timeout=timeout)
            if not robot_accepted(resp):
                error = f"HTTP {resp.status_code}: {resp.text[:200]}"
        except requests.RequestException as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:300]
        with engine.begin() as conn:
            if error is None:
                conn.execute(update(Outbox).where(Outbox.id == row.id).values(
                    sent_at=now, attempts=row.attempts + 1, last_error=None))
                result.sent += 1
            else:
                delay = min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** row.attempts))
                conn.execute(update(Outbox).where(Outbox.id == row.id).values(
                    attempts=row.attempts + 1, last_error=error, next_attempt_at=now + delay))
                result.failed += 1
    return result
