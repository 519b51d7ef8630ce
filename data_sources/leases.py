"""Database leases: a scheduled job runs in one process only, however many schedulers or workers run."""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Callable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from governance.models import JobLease
from governance.core.timeutil import utcnow

log = logging.getLogger(__name__)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(engine: Engine, name: str, hold: timedelta, now=None) -> bool:
    """Atomically take the lease of job `name` until now + hold; False if another holds it."""
    now = now or utcnow()
    with engine.begin() as conn:
        if conn.execute(select(JobLease.name).where(JobLease.name == name)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(JobLease), [{"name": name, "runs": 0}])
            except IntegrityError:
                pass
        taken = conn.execute(update(JobLease).where(
            JobLease.name == name, or_(JobLease.lease_until.is_(None), JobLease.lease_until <= now)
        ).values(holder=HOLDER, lease_until=now + hold, runs=JobLease.runs + 1))
        return taken.rowcount == 1


def release_lease(engine: Engine, name: str, not_before) -> None:
    """Release the lease but keep it until `not_before`, so the same tick is not run again."""
    with engine.begin() as conn:
        conn.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == HOLDER)
                     .values(lease_until=not_before))


def leased_job(engine: Engine, name: str, interval_seconds: int, func: Callable, clock: Callable = utcnow):
    """Run `func` if this process wins the lease of job `name` for this interval."""
    start = clock()
    interval = timedelta(seconds=interval_seconds)
    if not acquire_lease(engine, name, hold=max(interval, timedelta(minutes=10)), now=start):
        return None
    try:
        return func()
    except Exception:  # noqa: BLE001 - a failing job must not kill the scheduler
        log.exception("job %s failed", name)
        return None
    finally:
        release_lease(engine, name, not_before=start + interval * 0.8)
