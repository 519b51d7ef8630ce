"""Push, not polling: GET /api/v1/changes streams the data version (server-sent events) the moment it moves.

One watcher thread per app (its runtime's database) in a web process reads the data version (index-only max lookups) while at least one
stream is open, and wakes every stream when it changes — whoever changed it: a feed in the scheduler
process, a push, a dispatch in another web worker. On PostgreSQL it LISTENs on the channel the
database NOTIFYs at each committed write to event or warning (migration 0020) and reads the version
when told (and every FALLBACK_SECONDS in case a notification was missed); on SQLite, which has no
such channel, it reads the version every POLL_SECONDS. The browser (assets/gridcockpit.js, `liveChanges`) then asks the cockpit for the
outputs that changed. A stream ends after STREAM_SECONDS (the browser reconnects at once, and the
session is checked again); beyond the per-process limit of open streams the answer is 503 and that
browser keeps its refresh interval, retrying later. `?once=1` answers with the current version and ends.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from flask import Blueprint, Response, g, request

from governance.accounts.accounts import resolve_session
from governance.core.cache import data_version

from .auth import SESSION_COOKIE
from .cockpit_data import prepare_pushed
from .runtime import CacheSpec, bound, current

log = logging.getLogger(__name__)

live = Blueprint("live", __name__)
POLL_SECONDS = 0.5
FALLBACK_SECONDS = 5.0
CHANNEL = "cockpit_changes"
HEARTBEAT_SECONDS = 15
RECHECK_SECONDS = 5  # a signed-out session, disabled account or revoked wall ends its stream within this
STREAM_SECONDS = 300
RETRY_MS = 2000
# Bursts of changes (dispatchers at work, a feed batch landing) reach the browsers as at most one new
# version per PUSH_GAP_SECONDS: each pushed version makes every open view recompute, so this bounds the
# work while a change still reaches the wall within about a second.
PUSH_GAP_SECONDS = 1.0


class ChangeListener:
    """A PostgreSQL connection LISTENing on the change channel (its own, outside the engine's pool)."""

    def __init__(self, engine):
        import psycopg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Block until a change is notified (True) or `timeout` seconds pass (False)."""
        return any(True for _ in self.conn.notifies(timeout=timeout, stop_after=1))

    def close(self) -> None:
        """Stop listening and close the connection."""
        self.conn.close()


class VersionWatcher:
    """Reads the data version while someone listens, and wakes the listeners when it changes."""

    def __init__(self, engine, poll: float = POLL_SECONDS, prepare=None):
        self.engine, self.poll = engine, poll
        # prepare(version), when given, runs before a moved version is published (bounded by the hook itself):
        # the figures every stream's view will ask for are computed once, before they all ask at once.
        self.prepare = prepare
        self.version: str | None = None
        self.listeners = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def read(self) -> str:
        """The data version now (and wake the listeners when it moved)."""
        return self._read()[0]

    def _read(self, prepare: bool = False) -> tuple[str, bool]:
        """(the data version now, whether it moved from one a listener may have seen — not the first reading);
        with `prepare`, a moved version is prepared (see __init__) before the listeners are woken."""
        with self.engine.connect() as conn:
            version = data_version(conn)
        if prepare and self.prepare is not None and self.version is not None and version != self.version:
            try:
                self.prepare(version)
            except Exception:  # noqa: BLE001 - a failed preparation must not hold the change back
                log.exception("preparing version %s failed", version)
        with self._changed:
            moved = self.version is not None and version != self.version
            if version != self.version:
                self.version = version
                self._changed.notify_all()
        return version, moved

    def _listener(self) -> ChangeListener | None:
        """A change listener on PostgreSQL, or None (SQLite, or the database refused one: poll instead)."""
        if self.engine.dialect.name != "postgresql":
            return None
        try:
            return ChangeListener(self.engine)
        except Exception:  # noqa: BLE001 - no listener: the watcher polls, as on SQLite
            return None

    def _run(self) -> None:
        listener, retry_at = self._listener(), time.monotonic() + 30
        published = float("-inf")
        try:
            while True:
                with self._changed:
                    if self.listeners == 0:
                        self._thread = None
                        return
                time.sleep(max(0.0, published + PUSH_GAP_SECONDS - time.monotonic()))  # coalesce a burst
                try:
                    if self._read(prepare=True)[1]:  # a move listeners see (the very first reading publishes nothing)
                        published = time.monotonic()
                except Exception:  # noqa: BLE001 - a database hiccup must not end the watcher; streams keep beating
                    pass
                if listener is None:
                    time.sleep(self.poll)
                    if self.engine.dialect.name == "postgresql" and time.monotonic() > retry_at:
                        listener, retry_at = self._listener(), time.monotonic() + 30
                    continue
                try:
                    listener.wait(FALLBACK_SECONDS)
                except Exception:  # noqa: BLE001 - the connection dropped: poll until a new one is made
                    listener.close()
                    listener = None
        finally:
            if listener is not None:
                listener.close()

    def listen(self) -> str:
        """Join as a listener (starting the watcher thread if needed); returns the current version."""
        with self._changed:
            self.listeners += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-version", daemon=True)
                self._thread.start()
        return self.version or self.read()

    def leave(self) -> None:
        """Leave as a listener (the watcher stops with the last one)."""
        with self._changed:
            self.listeners -= 1

    def wait(self, seen: str, timeout: float) -> str:
        """Block until the version differs from `seen` or `timeout` passes; return the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version or seen


WATCHERS = CacheSpec("live.watchers", 1, "engine → the VersionWatcher of the app's database (one per runtime)")
_LOCK = threading.Lock()


def pushed_version(value) -> str | None:
    """The data version a browser was pushed (its live-version store, the stream's session mark cut off),
    if this app's watcher published that very version — else None: a forged or outdated value never
    chooses what is computed."""
    rt = current()
    w = rt.cache(WATCHERS).get(rt.engine)
    return accepted_version(value, w.version if w is not None else None)


def accepted_version(value, published: str | None) -> str | None:
    """`value` without its session mark when that is the version `published`, else None."""
    if not isinstance(value, str) or not published:
        return None
    version = value.split("|p", 1)[0]
    return version if version == published else None


def watcher() -> VersionWatcher:
    """This app's watcher for its runtime's database (the watcher thread is given the engine, not the runtime)."""
    rt = current()
    with _LOCK:
        return rt.cache(WATCHERS).setdefault(
            rt.engine, lambda: VersionWatcher(rt.engine, prepare=bound(prepare_pushed, rt)))


def sse_lines(version: str) -> str:
    """One server-sent event carrying a data version."""
    return f"data: {version}\n\n"


@live.get("/api/v1/changes")
def changes():
    """Server-sent events: the data version now and at each change; a comment line every 15 s keeps it open (and finds closed browsers)."""
    if request.args.get("once") == "1":  # one answer and done: the version now (monitoring, tests)
        return Response(f"retry: {RETRY_MS}\n" + sse_lines(watcher().read()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store"})
    w, limit = watcher(), current().settings.live_streams
    with _LOCK:
        if w.listeners >= limit:
            return Response("retry: 60000\n\n", status=503, mimetype="text/event-stream",
                            headers={"Retry-After": "60", "Cache-Control": "no-store"})
        first = w.listen()

    rt = current()
    cookie = None if g.get("by_header") else request.cookies.get(SESSION_COOKIE)

    def session_mark() -> str | None:
        """None when the session this stream was opened with has ended; else what of the session the page
        shows: a wall's playlist (an edit in the admin console reaches the running wall), "" otherwise.
        (Embed tokens are checked again when the browser reconnects.)"""
        if not cookie:
            return ""
        with rt.engine.begin() as conn:
            p = resolve_session(conn, cookie, rt.now())
        if p is None:
            return None
        return "" if p.kind != "kiosk" else "|p" + hashlib.blake2b(
            json.dumps(list(p.playlist), sort_keys=True, ensure_ascii=False).encode(), digest_size=4).hexdigest()

    def stream():
        try:
            last, mark = first, session_mark() or ""
            yield f"retry: {RETRY_MS}\n" + sse_lines(last + mark)
            end = time.monotonic() + STREAM_SECONDS
            beat = time.monotonic() + HEARTBEAT_SECONDS
            while (left := end - time.monotonic()) > 0:
                version = w.wait(last, min(RECHECK_SECONDS, left))
                if version != last:
                    last = version
                    yield sse_lines(last + mark)
                    continue
                now_mark = session_mark()
                if now_mark is None:
                    return  # the browser reconnects, is refused (401) and reloads into the sign-in answer
                if now_mark != mark:
                    mark = now_mark
                    yield sse_lines(last + mark)
                elif time.monotonic() >= beat:
                    beat = time.monotonic() + HEARTBEAT_SECONDS
                    yield ": \n\n"
        finally:
            w.leave()

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
