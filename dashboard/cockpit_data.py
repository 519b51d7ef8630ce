"""Everything the cockpit shows, computed from the database and cached by data version.

The caches live on the app's runtime (dashboard.runtime): two apps in one process keep their own.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from governance.events import queries

from governance.figures import rollups

from governance.figures import trends
from governance.people import people_stats
from governance.reports.area_stats import child_figures
from governance.core.newest_first import NewestFirst
from governance.core.cache import SharedCache, changed_paths, data_version, namespace_of, version_order
from governance.figures.kpis import closed_by_level, compute_kpis
from governance.models import CHILD_LEVEL
from governance.console.rule_settings import current_rules
from governance.alerts.warning_store import scope_from_table

from .runtime import CacheSpec, bound, current


@dataclass(frozen=True)
class Stamp:
    """Identifies a state of the data: version of the events plus the minute (colours age)."""

    version: str
    minute: str


VERSION = CacheSpec("cockpit.version", 1, "the data version this app read last, and when (monotonic clock)")


def stamp(fresh: bool = False, pushed: str | None = None) -> Stamp:
    """The current data stamp: the data version (read at most every COCKPIT_CACHE_SECONDS) and the minute.

    Under a stream of changes (dispatchers at work, feeds landing) every new version would make each
    view recompute from scratch; reading the version at most every few seconds bounds that work while
    the wall stays as fresh as its refresh interval. `fresh` reads it now (a pushed change, an action);
    `pushed` is a version the change stream just published (dashboard.live_routes.pushed_version): it
    is used as it is, without a read, and without moving this process's shared view of the version — so
    views opened meanwhile keep sharing the figures of the last periodic read instead of each pushed
    version making every new view recompute.
    """
    rt = current()
    if pushed:
        return Stamp(pushed, rt.now().strftime("%Y%m%d%H%M"))
    clock = time.monotonic()
    kept = rt.cache(VERSION)
    read_at, value = kept.get("version", (float("-inf"), ""))
    if fresh or clock - read_at >= rt.settings.cache_seconds:
        with rt.engine.connect() as conn:
            value = data_version(conn)
        kept.put("version", (clock, value))
    return Stamp(value, rt.now().strftime("%Y%m%d%H%M"))


def not_behind(st: Stamp, shown) -> Stamp:
    """`st`, or the version read now when the view on screen (`shown`: its stamp, [version, minute], or the
    version alone) is from a version `st` is not at or after: a timer tick right after a pushed refresh reads the
    version this process read seconds ago, and must never take the wall back to before the pushed change."""
    if isinstance(shown, list):
        shown = shown[0] if shown else None
    seen, at = version_order(shown), version_order(st.version)
    if seen is None or at is None or all(a >= b for a, b in zip(at, seen)):
        return st
    return stamp(fresh=True)  # a forged `shown` costs one small read, never a computation of its own


class ChangeLog:
    """The data versions this app has seen, in order, each with the area paths changed since the one before
    (governance.core.cache.changed_paths): what `scoped` needs to tell whether an area changed."""

    SIZE = 256  # versions remembered; before the oldest, every area counts as changed

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: list[tuple[str, tuple, frozenset | None]] = []  # (version, order, paths; None = all)

    def scope_version(self, version: str, path: str, changes: Callable[[str], set | None]) -> str:
        """The newest version, at or before `version`, that changed something inside `path` (`version`
        itself when that cannot be told: not a version, or one older than what this app remembers).
        `changes(since)` answers the paths changed after version `since` (None: every area)."""
        order = version_order(version)
        if order is None:
            return version
        with self._lock:  # one thread learns a new version (one small query); the others wait for it
            seen = self._seen
            newest = seen[-1][1] if seen else None
            if newest is None or (order != newest and all(a >= b for a, b in zip(order, newest))):
                paths = changes(seen[-1][0]) if seen else None
                seen.append((version, order, None if paths is None else frozenset(paths)))
                if len(seen) > self.SIZE:
                    del seen[0]
                    seen[0] = (seen[0][0], seen[0][1], None)
            at = next((i for i in range(len(seen) - 1, -1, -1) if seen[i][0] == version), None)
            if at is None:
                return version
            for known, _order, paths in reversed(seen[:at + 1]):
                if paths is None or any(p.startswith(path) for p in paths):
                    return known
        return version


CHANGES = CacheSpec("cockpit.changes", 1, "the data versions seen, each with the area paths it changed (scoped)")


def scoped(st: Stamp, path: str) -> Stamp:
    """`st` with its version moved back to the last one that changed anything inside area `path`: a view's
    figures, outputs and stamp stay the same while changes land elsewhere (a dispatch in one community
    leaves the other communities' walls as they are, with nothing recomputed), and move as soon as a
    change lands inside."""
    log = current().cache(CHANGES).setdefault("log", ChangeLog)

    def changes(since: str):
        with current().engine.connect() as conn:
            return changed_paths(conn, since)
    return Stamp(log.scope_version(st.version, path, changes), st.minute)


# Whether a result of an older data stamp may answer (stale-while-revalidate): only a periodic refresh of
# a view already on screen may; a new view, a new period, a pushed change or an action gets fresh figures.
ALLOW_STALE: contextvars.ContextVar[bool] = contextvars.ContextVar("allow_stale", default=False)


@contextlib.contextmanager
def answering_stale(allowed: bool):
    """Within this block, results of the previous data stamp may answer (see ALLOW_STALE); reset after."""
    token = ALLOW_STALE.set(allowed)
    try:
        yield
    finally:
        ALLOW_STALE.reset(token)


# SQLite and PostgreSQL drivers release the GIL while a query runs: independent panel queries of a
# new view run side by side on this pool instead of one after another. A task carries its app's runtime.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cockpit-prefetch")


def prefetch(st: Stamp, path: str, period: str) -> None:
    """Start computing a view's independent panels in the background (results land in the cache)."""
    for fn, args in ((warnings, (st, path)), (kpis, (st, path, period)), (closed_levels, (st, path, period)),
                     (latest, (st, path))):
        _POOL.submit(bound(fn), *args)


# Work done ahead yields to people's requests: on 2 cores a warmer computing beside 200 walls' first loads
# takes the CPU they wait for (bench.load, PostgreSQL first load p95 94–257 ms). Callback requests being
# answered in this process are counted; the warmer starts each child only when none is.
_ANSWERING = [0]
_ANSWERING_LOCK = threading.Lock()
WARM_PATIENCE_SECONDS = 3.0  # a warm job waiting longer than this for a quiet moment is given up


def install_quiet_signal(server) -> None:
    """Count the callback requests this process is answering (see wait_until_quiet)."""
    from flask import g, request

    @server.before_request
    def _answering():
        if request.path.endswith("/_dash-update-component"):
            with _ANSWERING_LOCK:
                _ANSWERING[0] += 1
            g.cockpit_answering = True

    @server.teardown_request
    def _answered(_exc=None):
        if g.pop("cockpit_answering", False):
            with _ANSWERING_LOCK:
                _ANSWERING[0] -= 1


def wait_until_quiet(patience: float, every: float = 0.02) -> bool:
    """Wait until this process answers no callback request (True), or `patience` seconds pass (False)."""
    deadline = time.monotonic() + patience
    while _ANSWERING[0] > 0:
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True


# The last few views opened, newest first: warming is worth something for the seconds after a view is opened,
# and a backlog (200 walls opening at once) would otherwise hold a core for minutes (bench.load).
_WARMER = NewestFirst(keep=4, name="cockpit-drill-warmer")
WARMED = CacheSpec("cockpit.warmed", 64, "(area path, stamp, period) whose drill-down views were computed ahead")
WARM_MOST = 40  # children warmed per view at most (a city's or district's list is left to the drill itself)


def view_panels(st: Stamp, path: str, level: str, period: str) -> tuple:
    """(function, args) of every cached figure a view of area `path` shows (map at `level`): what computing a
    view ahead means."""
    return ((warnings, (st, path)), (kpis, (st, path, period)), (figures, (st, path, level, period)),
            (closed_levels, (st, path, period)), (latest, (st, path)))


def warm_children(st: Stamp, path: str, level: str, period: str) -> None:
    """Compute, in the background and one at a time, the panels of every view a drill-down from this one
    may open (its children's), so the click only builds and sends them. With stamps scoped to each area
    (`scoped`), a child is computed again only when something changed inside it, or the minute moved."""
    child = CHILD_LEVEL.get(level)
    kept = current().cache(WARMED)
    key = (path, st.version, st.minute, period)
    if child is None or key in kept:
        return
    kept.put(key, True)

    def warm():
        with current().engine.connect() as conn:
            children = queries.areas_in(conn, path, child)
        if len(children) > WARM_MOST:
            return
        shown = CHILD_LEVEL.get(child) or child  # what the child's map colours
        for ref in children:
            if not wait_until_quiet(WARM_PATIENCE_SECONDS):  # people's requests first; give the rest up
                return
            for fn, args in view_panels(scoped(st, ref.path), ref.path, shown, period):
                fn(*args)
    _WARMER.submit((id(current()), path, period), bound(warm))


# Views a change stream's walls showed at their last pushed refresh: before the next version is published, their
# figures are computed once (prepare_pushed), instead of every held wall asking for them at the same moment.
LIVE_VIEWS = CacheSpec("cockpit.live_views", 16,
                       "(area path, map level, period) refreshed by a pushed change → when (monotonic seconds)")
LIVE_VIEW_SECONDS = 600.0  # a view not refreshed by a push for this long is no longer prepared
PREPARE_MOST_SECONDS = 1.0  # the longest a pushed version waits for its views' figures


def note_live_view(path: str, level: str, period: str) -> None:
    """Remember a view refreshed by a pushed change (see prepare_pushed)."""
    current().cache(LIVE_VIEWS).put((path, level, period), time.monotonic())


def prepare_pushed(version: str) -> None:
    """Compute the figures of the live views (note_live_view) at a version about to be pushed, side by side and
    for at most PREPARE_MOST_SECONDS: their walls' refreshes then find them ready."""
    rt = current()
    live, now = rt.cache(LIVE_VIEWS), time.monotonic()
    minute = rt.now().strftime("%Y%m%d%H%M")  # as stamp(pushed=…) makes it
    jobs = []
    for path, level, period in live.keys():
        if now - live.get((path, level, period), float("-inf")) > LIVE_VIEW_SECONDS:
            continue
        jobs += [_POOL.submit(bound(fn), *args) for fn, args in view_panels(scoped(Stamp(version, minute), path),
                                                                             path, level, period)]
    futures.wait(jobs, timeout=PREPARE_MOST_SECONDS)


_MISSING = object()
LATEST_SIZE = 512  # views whose newest figures an app keeps for answering stale (about 100 views' panels)
LATEST = CacheSpec("cockpit.latest", LATEST_SIZE,
                   "(name, args) → the newest value computed, whatever its stamp (answers stale)")
_SERVED = threading.local()
SHARED = CacheSpec("cockpit.shared", 2, "(cache dir, database URL) → the app's SharedCache")
OUTPUTS_SIZE = 64
OUTPUTS = CacheSpec("cockpit.outputs", OUTPUTS_SIZE,
                    "(view, stamp, audience) → the cockpit's built outputs (the render memo)")


def outputs_once(key: tuple, build):
    """A view's built outputs, kept for the next render of the same view, stamp and audience (bounded);
    one answered partly from older figures (stale-while-revalidate) is not kept."""
    kept = current().cache(OUTPUTS)
    result = kept.get(key, _MISSING)
    if result is not _MISSING:
        return result
    result = build()
    if not served_stale(peek=True):
        kept.put(key, result)
    return result


def served_stale(peek: bool = False) -> bool:
    """True when this thread was given a stale value since the last call (and resets the flag unless `peek`)."""
    stale = getattr(_SERVED, "stale", False)
    if not peek:
        _SERVED.stale = False
    return stale


def shared_cache() -> SharedCache:
    """The result cache of this deployment: in-process, then shared by every web process (COCKPIT_CACHE_DIR)."""
    settings = current().settings
    return current().cache(SHARED).setdefault(
        (settings.cache_dir, settings.database_url),
        lambda: SharedCache(settings.cache_dir, namespace_of(settings.database_url)))


def _cached(name: str, st: Stamp, args: tuple, compute):
    """Cached per data stamp, across processes; when the stamp moved on, answer with the previous value
    while the new one is computed in the background (stale-while-revalidate), unless
    COCKPIT_CACHE_SECONDS is 0."""
    rt = current()
    cache, newest = shared_cache(), rt.cache(LATEST)
    key = (name, st.version, st.minute, *args)
    value = cache.peek(key, _MISSING)
    if value is not _MISSING:
        return value

    def compute_and_keep():
        result = compute()
        newest.put((name, args), result)
        cache.remember(("latest", name, *args), result)
        return result

    if rt.settings.cache_seconds > 0 and ALLOW_STALE.get():
        previous = newest.get((name, args), _MISSING)
        if previous is _MISSING:
            previous = cache.recall(("latest", name, *args), _MISSING)
        if previous is not _MISSING:
            _POOL.submit(bound(cache.get_or_compute, rt), key, compute_and_keep)
            _SERVED.stale = True
            return previous
    return cache.get_or_compute(key, compute_and_keep)


def area(code: str):
    """AreaRef of a code (None if unknown)."""
    with current().engine.connect() as conn:
        return queries.area_by_code(conn, code)


def child_level(level: str) -> str | None:
    """The level the map shows inside an area of `level` (None for a micro-grid)."""
    return CHILD_LEVEL.get(level)


def kpis(st: Stamp, path: str, period: str):
    """KPI snapshot of a scope and period."""
    def compute():
        with current().engine.begin() as conn:  # a queued rollup flush is kept
            return compute_kpis(conn, path, period, current().now())
    return _cached("kpis", st, (path, period), compute)


def figures(st: Stamp, path: str, level: str, period: str):
    """Per-child figures (metrics, warning colours) of a scope."""
    def compute():
        scope_warnings = warnings(st, path)
        with current().engine.begin() as conn:
            rollups.flush_if_queued(conn)  # queued changes first: the figures read the rollups
            return child_figures(conn, path, level, period, current().now(), current_rules(conn), scope_warnings,
                                 people=people_totals)
    return _cached("figures", st, (path, level, period), compute)


def people_totals(conn, path: str, segments: int) -> dict:
    """The registry's counts per child area (people_stats.child_totals), cached by the registry's own
    mark: events changing do not recount ~25,000 rows of people_rollup for every view."""
    mark = Stamp(people_stats.version(conn), "")
    return _cached("people", mark, (path, segments), lambda: people_stats.child_totals(conn, path, segments))


def warning_stamp(st: Stamp) -> Stamp:
    """The part of a stamp the warning table's rows depend on (warnings, rule settings and the minute), so
    a dispatch that moves only the events' part does not re-read thousands of warning rows per view."""
    return Stamp("|".join(st.version.split("|")[2:]) or st.version, st.minute)


def warnings(st: Stamp, path: str):
    """Warnings of a scope (per open event and micro-grid) as the scheduler keeps them in the
    warning table: the one evaluated result map, markers, lists and notifications share (#18)."""
    def compute():
        with current().engine.connect() as conn:
            return scope_from_table(conn, path, current().now())
    return _cached("warnings", warning_stamp(st), (path,), compute)


def latest(st: Stamp, path: str, limit: int = 12):
    """Newest events of a scope."""
    def compute():
        with current().engine.connect() as conn:
            return queries.latest_events(conn, path, limit)
    return _cached("latest", st, (path, limit), compute)


def trend_series(st: Stamp, path: str, period: str) -> dict:
    """Daily new/closed, category breakdown and hourly rhythm of a scope."""
    def compute():
        now = current().now()
        with current().engine.begin() as conn:  # a queued rollup flush is kept
            return {"daily": trends.daily_new_closed(conn, path, now),
                    "categories": trends.category_breakdown(conn, path, period, now),
                    "hourly": trends.hourly_rhythm(conn, path, now)}
    return _cached("trends", st, (path, period), compute)


def closed_levels(st: Stamp, path: str, period: str) -> dict[str, int]:
    """Closed events per handling level in the period."""
    def compute():
        with current().engine.begin() as conn:  # a queued rollup flush is kept
            return closed_by_level(conn, path, period, current().now())
    return _cached("levels", st, (path, period), compute)
