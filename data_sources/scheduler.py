"""APScheduler jobs for the feeds, guarded by database leases so no tick runs twice."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from governance.core.timeutil import utcnow

from governance.reports.briefs import generate_due
from governance.alerts.warning_jobs import deliver_notifications, refresh_warnings

from .base import Source
from .leases import acquire_lease, leased_job, release_lease
from .pipeline import run_source

log = logging.getLogger(__name__)


def leased_run(engine: Engine, source: Source, clock: Callable = utcnow) -> bool:
    """Run one source if this process wins its lease for the current interval; True if it ran.

    When the run brought new or changed events, warnings are re-evaluated right away.
    """
    start = clock()
    interval = timedelta(seconds=source.interval_seconds)
    if not acquire_lease(engine, f"feed:{source.name}", hold=max(interval, timedelta(minutes=10)),
                         now=start):
        return False
    try:
        stats = run_source(engine, source, clock)
        if stats and (stats.inserted or stats.updated):
            leased_job(engine, "warnings", 5, lambda: refresh_warnings(engine, clock()), clock)
    finally:
        release_lease(engine, f"feed:{source.name}", not_before=start + interval * 0.8)
    return True


def warning_jobs(engine: Engine, settings) -> list[tuple[Callable, int, str]]:
    """The scheduled warning jobs: re-evaluate every minute, deliver notifications every 15 s; every
    15 minutes the 工作简报 of finished weeks and months that are still missing (governance.reports.briefs);
    and the 关爱走访 rounds (data_sources.people_jobs)."""
    from .people_jobs import visit_jobs

    return [
        (lambda: leased_job(engine, "warnings", 60, lambda: refresh_warnings(engine, utcnow())), 60,
         "warnings"),
        (lambda: leased_job(engine, "notify", 15, lambda: deliver_notifications(
            engine, settings.webhook_url, settings.webhook_format, utcnow())), 15, "notify"),
        (lambda: leased_job(engine, "rollups", 10, lambda: flush_rollups(engine)), 10, "rollups"),
        (lambda: leased_job(engine, "briefs", 900, lambda: generate_due(engine, utcnow())), 900, "briefs"),
    ] + visit_jobs(engine)  # 关爱走访 rounds (#19)


def flush_rollups(engine: Engine) -> tuple[str, int]:
    """Bring the rollups up to date with queued changes: recompute the queued groups, or rebuild
    everything when that is quicker (after a long feed catch-up); return how and the groups queued.

    Readers also flush; this keeps the queue short.
    """
    from governance.figures.rollups import catch_up

    with engine.begin() as conn:
        how, groups = catch_up(conn)
    if how == "rebuilt":
        log.info("rollups rebuilt: %d groups were queued", groups)
    return how, groups


def build_scheduler(engine: Engine, sources: list[Source], blocking: bool = False,
                    extra_jobs: list[tuple[Callable, int, str]] = ()):
    """A scheduler with one interval job per source (and any extra (func, seconds, id) jobs)."""
    sched = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="Asia/Shanghai")
    for source in sources:
        sched.add_job(leased_run, "interval", seconds=source.interval_seconds, args=[engine, source],
                      id=f"feed:{source.name}", max_instances=1, coalesce=True,
                      next_run_time=aware_now())
    for func, seconds, job_id in extra_jobs:
        sched.add_job(func, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True)
    return sched


def aware_now():
    """Now, zone-aware, for APScheduler's first run."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
