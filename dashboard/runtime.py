"""The runtime each app's pages and callbacks use: its settings, its database engine and its caches.

Every app made by dashboard.app.create_app has its own Runtime, kept on its Flask server
(`server.extensions[EXTENSION]`). `current()` answers the runtime bound to this thread's context
(`using`, e.g. a background task given its runtime), else the one of the app serving the request
(flask.current_app), else — outside any app (CLI, tests) — the last one installed. So two apps in one
process (two worlds, a test app next to another) never read each other's database or caches.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, NamedTuple

from flask import globals as flask_globals
from sqlalchemy.engine import Engine

from governance.core.config import Settings
from governance.core.timeutil import utcnow

EXTENSION = "gridcockpit.runtime"  # key of an app's Runtime in its Flask server's extensions


class CacheSpec(NamedTuple):
    """A runtime cache's name, bound (entries kept) and what it holds."""

    name: str
    maxsize: int
    holds: str


class Bounded:
    """A thread-safe mapping of at most `maxsize` entries; the least recently used goes first."""

    def __init__(self, spec: CacheSpec):
        self.spec = spec
        self.__doc__ = spec.holds
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        """The value kept for `key` (now the most recently used), else `default`."""
        with self._lock:
            if key not in self._data:
                return default
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key, value) -> None:
        """Keep `value` for `key`, forgetting the least recently used entries beyond the bound."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.spec.maxsize:
                self._data.popitem(last=False)

    def setdefault(self, key, make: Callable[[], object]):
        """The value kept for `key`; when missing, `make()` (run outside the lock: other keys keep
        answering meanwhile) is kept unless another thread kept one first, which then wins."""
        missing = object()
        found = self.get(key, missing)
        if found is not missing:
            return found
        value = make()
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            self._data[key] = value
            while len(self._data) > self.spec.maxsize:
                self._data.popitem(last=False)
            return value

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def keys(self) -> list:
        """A snapshot of the keys kept, least recently used first."""
        with self._lock:
            return list(self._data)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def keys(self) -> list:
        """The keys kept, least recently used first (a copy)."""
        with self._lock:
            return list(self._data)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()


@dataclass(eq=False)
class Runtime:
    """What a running app knows: its settings, its engine, its clock and its caches."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = field(default=utcnow)
    caches: dict[str, Bounded] = field(default_factory=dict, repr=False)
    _caches_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def secret(self) -> str:
        """The signing secret (COCKPIT_SECRET_KEY; generated only in demo mode)."""
        from governance.core.config import secret_key

        return secret_key(self.settings)

    def now(self) -> datetime:
        """Current time as naive UTC (tests install a fixed clock)."""
        return self.clock()

    def cache(self, spec: CacheSpec) -> Bounded:
        """This runtime's bounded cache named by `spec` (made on first use)."""
        found = self.caches.get(spec.name)
        if found is None:
            with self._caches_lock:
                found = self.caches.setdefault(spec.name, Bounded(spec))
        return found


_last: Runtime | None = None
# Flask's own context variable of the app context (Flask ≥ 2.3, pinned in requirements.txt), which
# flask.current_app reads; an import error here, not a silent fallback, if a Flask upgrade renames it.
_APP_CONTEXT: contextvars.ContextVar = flask_globals._cv_app  # noqa: SLF001
_BOUND: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar("cockpit_runtime", default=None)


def install(runtime: Runtime, server=None) -> None:
    """Give `server` (a Flask app) its runtime, and make it the one used outside any app (called by create_app)."""
    global _last
    if server is not None:
        server.extensions[EXTENSION] = runtime
    _last = runtime


def current() -> Runtime:
    """The runtime bound here (`using`), else the serving app's, else the last installed; fails loudly if none."""
    bound = _BOUND.get()
    if bound is not None:
        return bound
    context = _APP_CONTEXT.get(None)  # what flask.current_app reads, without the proxy's cost (~2 µs a call)
    if context is not None:
        found = context.app.extensions.get(EXTENSION)
        if found is not None:
            return found
    if _last is None:
        raise RuntimeError("dashboard runtime not installed: build the app with dashboard.app.create_app")
    return _last


def of(app) -> Runtime:
    """The runtime of an app made by create_app (a Dash app or its Flask server)."""
    server = getattr(app, "server", app)
    return server.extensions[EXTENSION]


@contextlib.contextmanager
def using(runtime: Runtime):
    """Within this block (this thread or task), current() is `runtime`."""
    token = _BOUND.set(runtime)
    try:
        yield runtime
    finally:
        _BOUND.reset(token)


def bound(fn: Callable, runtime: Runtime | None = None) -> Callable:
    """`fn` to run elsewhere (a pool thread) with `runtime` (default: the current one) as its runtime."""
    rt = runtime or current()

    def run(*args, **kwargs):
        with using(rt):
            return fn(*args, **kwargs)
    return run
