"""Scheduled job of the people registry: generate the next 关爱走访 round for every visit plan."""
from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from governance.core.timeutil import utcnow
from governance.people.visits import generate_tasks

from .leases import leased_job

log = logging.getLogger(__name__)
VISIT_JOB_SECONDS = 3600


def run_visit_round(engine: Engine, now=None) -> int:
    """Create the visit tasks now due (idempotent: a household's current round is made once)."""
    with engine.begin() as conn:
        n = generate_tasks(conn, now or utcnow())
    if n:
        log.info("visit tasks created: %d", n)
    return n


def visit_jobs(engine: Engine) -> list[tuple[Callable, int, str]]:
    """(func, seconds, id) of the visit job, for data_sources.scheduler (leased: one process runs it)."""
    return [(lambda: leased_job(engine, "visits", VISIT_JOB_SECONDS, lambda: run_visit_round(engine)),
             VISIT_JOB_SECONDS, "visits")]
