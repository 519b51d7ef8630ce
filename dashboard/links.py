"""Signed links: a grid worker's task page URL carries a signed staff id, not a guessable one."""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from .runtime import current

SALT = "worker-tasks"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current().secret(), salt=SALT)


def worker_link(staff_id: int) -> str:
    """The task-page URL of one worker."""
    return f"/worker/{_serializer().dumps(int(staff_id))}"


def staff_from_token(token: str) -> int | None:
    """The staff id a worker link was signed for, or None for a forged or malformed token."""
    try:
        return int(_serializer().loads(token))
    except (BadSignature, ValueError, TypeError):
        return None
