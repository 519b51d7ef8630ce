"""Run a feed: pull pages, normalise, quarantine bad records, locate, upsert, keep state."""
from __future__ import annotations

import gc
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from governance.alerts.rules_in_force import current_rules
from governance.models import Quarantine, SourceState
from governance.core.taxonomy import load_taxonomy
from governance.core.timeutil import utcnow

from .base import FeedError, NormalisedEvent, Page, RawRecord, RecordError, Source
from .locate import locator_for
from .upsert import UpsertResult, new_event_row, upsert_events

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=30)


@dataclass
class IngestStats:
    """Counts of one ingest: every record received ends up in `out` or `quarantined`."""

    received: int = 0
    out: int = 0
    quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates_linked: int = 0
    rejections: list = field(default_factory=list)  # (record index, reason) of quarantined ones

    def add(self, other: "IngestStats") -> None:
        """Accumulate another batch's counts."""
        for f in self.__dataclass_fields__:
            setattr(self, f, getattr(self, f) + getattr(other, f))


@contextmanager
def records_gc(young: int = 50_000):
    """Tune Python's cyclic garbage collector for a process whose work is a stream of records
    (an import worker, the scheduler).

    The objects that exist on entry (modules, engine, grid index) are frozen, so collections
    never scan them again, and young collections run every `young` allocations instead of every
    700. A page of records allocates far more than 700 objects, so by default the collector ran
    many times a page, rescanning the live records each time: with this, Python work per
    imported event dropped from about 49 to 33 µs, and the feed path went from ~18k to ~21k
    events/s (`bench/ingest.py`). Cyclic garbage is still collected, in larger, rarer passes.
    On exit everything frozen is unfrozen.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def quarantine(engine: Engine, source: str, items: list[tuple[RawRecord, str]], now: datetime) -> None:
    """Keep malformed records with their reasons (never dropped)."""
    if not items:
        return
    rows = [{"source": source, "source_key": (r.key_hint or "")[:80] or None, "received_at": now,
             "reason": reason[:2000], "raw": r.raw_text, "resolved": False} for r, reason in items]
    with engine.begin() as conn:
        conn.execute(insert(Quarantine), rows)


@dataclass
class PreparedBatch:
    """A batch after normalise and locate, ready to store."""

    records: list[RawRecord]
    good: list[tuple[RawRecord, NormalisedEvent]]
    bad: list[tuple[RawRecord, str]]
    places: list
    rows: list[dict]  # each good event's row, should it be new (`upsert.new_event_row`)


def prepare_batch(engine: Engine, source: Source, records: list[RawRecord]) -> PreparedBatch:
    """Normalise and locate a batch (no database writes); malformed records are set aside with reasons."""
    good: list[tuple[RawRecord, NormalisedEvent]] = []
    bad: list[tuple[RawRecord, str]] = []
    for rec in records:
        try:
            event = source.normalise(rec.payload)
            event.received_text = rec.raw_text or None
            good.append((rec, event))
        except RecordError as exc:
            bad.append((rec, str(exc)))
        except Exception as exc:  # a connector bug must not stop the batch either
            bad.append((rec, f"处理出错：{exc.__class__.__name__}: {exc}"))
    locator = locator_for(engine)
    places = locator.locate_many([e.lon if e.lon is not None else float("nan") for _, e in good],
                                 [e.lat if e.lat is not None else float("nan") for _, e in good])
    taxonomy, tiers = load_taxonomy(), current_rules(engine).sla_tiers_hours
    rows = [new_event_row(e, place, taxonomy, tiers) for (_, e), place in zip(good, places)]
    return PreparedBatch(records, good, bad, places, rows)


def store_batch(engine: Engine, source: Source, prepared: PreparedBatch, now: datetime,
            actor: str | None) -> IngestStats:
    """Store a prepared batch (one transaction) and quarantine what could not be used."""
    good, bad, records = prepared.good, list(prepared.bad), prepared.records
    stats = IngestStats(received=len(records))
    result = _store(engine, good, prepared.places, actor or source.name, now, bad, prepared.rows)
    quarantine(engine, source.name, bad, now)
    position = {id(rec): i for i, rec in enumerate(records)}
    stats.rejections = sorted((position[id(rec)], reason) for rec, reason in bad)
    stats.quarantined = len(bad)
    stats.out = stats.received - stats.quarantined
    stats.inserted, stats.updated = result.inserted, result.updated
    stats.duplicates_linked = result.duplicates_linked
    return stats


def ingest_records(engine: Engine, source: Source, records: list[RawRecord],
                   now: datetime | None = None, actor: str | None = None) -> IngestStats:
    """Normalise, locate and upsert a batch; bad records go to quarantine, the rest go on."""
    now = now or utcnow()
    return store_batch(engine, source, prepare_batch(engine, source, records), now, actor)


def ingest_pages(engine: Engine, source: Source, pages: Iterable[Page],
                 clock: Callable[[], datetime] = utcnow, actor: str | None = None,
                 overlap: bool | None = None) -> Iterator[tuple[Page, IngestStats]]:
    """Ingest pages in order; yield (page, stats) once each page is stored.

    With `overlap` (default: every database but SQLite) one writer thread stores page n while
    this thread fetches, normalises and locates page n + 1, so Python work runs while the
    database server works. Stores still run one at a time in page order, so each page sees the
    ones before it (known keys, duplicate originals) exactly as a plain loop would. An error
    while fetching or preparing a page is raised after every page before it is stored and
    yielded. SQLite has no server to wait for (and a second writer would only contend for its
    lock): there it is the plain loop.
    """
    if overlap is None:
        overlap = engine.dialect.name != "sqlite"
    if not overlap:
        for page in pages:
            yield page, ingest_records(engine, source, page.records, now=clock(), actor=actor)
        return
    with ThreadPoolExecutor(1, thread_name_prefix=f"ingest-{source.name}") as writer:
        pending: tuple[Page, Future] | None = None
        try:
            for page in pages:
                prepared = prepare_batch(engine, source, page.records)
                done = (pending[0], pending[1].result()) if pending else None
                pending = (page, writer.submit(store_batch, engine, source, prepared, clock(), actor))
                if done:
                    yield done
        except Exception:
            if pending:  # what was fetched before the failure is kept (and its cursor with it)
                page, future = pending
                pending = None
                yield page, future.result()
            raise
        if pending:
            yield pending[0], pending[1].result()


def _store(engine, good, places, actor, now, bad, rows=None) -> UpsertResult:
    events = [e for _, e in good]
    try:
        with engine.begin() as conn:
            return upsert_events(conn, events, places, actor, now, rows)
    except SQLAlchemyError as exc:
        if len(good) == 1:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
            bad.append((good[0][0], f"写入数据库失败：{detail}"))
            return UpsertResult()
    # Isolate the record(s) the database refused; store all the others.
    total = UpsertResult()
    for k, (item, place) in enumerate(zip(good, places)):
        part = _store(engine, [item], [place], actor, now, bad, None if rows is None else [rows[k]])
        total.inserted += part.inserted
        total.updated += part.updated
        total.duplicates_linked += part.duplicates_linked
    return total


def _state(conn, name: str) -> SourceState:
    state = conn.get(SourceState, name)
    if state is None:
        state = SourceState(source=name, consecutive_failures=0, records_in=0, records_out=0,
                            records_quarantined=0, runs=0)
        conn.add(state)
    return state


def run_source(engine: Engine, source: Source, clock: Callable[[], datetime] = utcnow,
               force: bool = False) -> IngestStats | None:
    """Pull and ingest everything new from one source; record health, back off after failures.

    Returns the run's stats, or None when the source is still backing off from a failure.
    """
    from sqlalchemy.orm import Session

    now = clock()
    with Session(engine, expire_on_commit=False) as s:
        state = _state(s, source.name)
        if not force and state.next_attempt_at and state.next_attempt_at > now:
            return None
        cursor = state.cursor
        s.commit()
    total = IngestStats()
    error: str | None = None
    try:
        for page, stats in ingest_pages(engine, source, source.pages(cursor), clock):
            total.add(stats)
            with Session(engine) as s:
                state = _state(s, source.name)
                # The page's own cursor, else the newest value of the feed's declared cursor field.
                cursor = page.cursor if page.cursor is not None else source.next_cursor(cursor, page.records)
                if cursor is not None:
                    state.cursor = cursor
                state.records_in += stats.received
                state.records_out += stats.out
                state.records_quarantined += stats.quarantined
                s.commit()
    except FeedError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one broken source never stalls the others
        log.exception("source %s failed", source.name)
        error = f"{exc.__class__.__name__}: {exc}"
    with Session(engine) as s:
        state = _state(s, source.name)
        state.interval_seconds = source.interval_seconds
        state.runs += 1
        state.last_run_at = clock()
        if error is None:
            state.last_success_at = state.last_run_at
            state.consecutive_failures = 0
            state.next_attempt_at = None
        else:
            state.last_error, state.last_error_at = error[:2000], state.last_run_at
            state.consecutive_failures += 1
            delay = timedelta(seconds=min(MAX_BACKOFF.total_seconds(),
                                          source.interval_seconds * 2 ** (state.consecutive_failures - 1)))
            state.next_attempt_at = state.last_run_at + delay
        s.commit()
    if error is not None:
        log.warning("source %s: %s", source.name, error)
    return total


def source_states(engine: Engine) -> dict[str, SourceState]:
    """Every stored source state, by source name."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as s:
        return {st.source: st for st in s.scalars(select(SourceState))}
