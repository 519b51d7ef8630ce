"""Result caching keyed by the event data's version, so unchanged data is never re-scanned."""
from __future__ import annotations

import threading
from concurrent.futures import Future
from collections import OrderedDict
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .models import Event, Warning


def data_version(conn: Connection) -> str:
    """A cheap fingerprint of the event and warning data (index-only max lookups)."""
    row = conn.execute(select(func.max(Event.id), func.max(Event.updated_at))).one()
    wrow = conn.execute(select(func.max(Warning.id), func.max(Warning.updated_at))).one()
    return f"{row[0]}|{row[1]}|{wrow[0]}|{wrow[1]}"


class VersionedCache:
    """A small LRU of computed results; keys include the data version, so stale entries age out.

    Concurrent requests for the same missing key share one computation (the others wait for it).
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._pending: dict[tuple, Future] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: tuple, compute: Callable[[], object]):
        """Return the cached value for key, computing (and storing) it once if missing."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            pending = self._pending.get(key)
            owner = pending is None
            if owner:
                pending = self._pending[key] = Future()
        if not owner:
            return pending.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            self._data[key] = value
            del self._pending[key]
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        pending.set_result(value)
        return value

    def peek(self, key: tuple, default=None):
        """The cached value for key, or `default` (never computes)."""
        with self._lock:
            return self._data.get(key, default)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()


CACHE = VersionedCache()
