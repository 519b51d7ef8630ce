"""Worker task-page links: one per task (a random token stored hashed, governance.events.task_links), and
the signed-in worker's own list at /worker/mine. There are no per-staff links any more."""
from __future__ import annotations

from governance.events.task_links import MINE, link_path


def my_tasks_href() -> str:
    """The signed-in worker's own open tasks (the cockpit header's 我的任务)."""
    return link_path(MINE)


def task_href(token: str) -> str:
    """The worker page of one task link (the raw token exists only right after it was minted)."""
    return link_path(token)


def worker_link(staff_id: int | None = None) -> str:
    """Kept for dashboard/pages/cockpit.py: now always the signed-in worker's own list, never a staff id."""
    return my_tasks_href()
