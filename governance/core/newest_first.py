"""Background work where only the newest asks matter: one thread, newest first, the oldest forgotten."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Callable, Hashable

log = logging.getLogger(__name__)


class NewestFirst:
    """Runs jobs on one daemon thread, newest first, keeping at most `keep` waiting (the oldest are dropped).

    A job submitted again under the same key replaces the waiting one. Work done ahead for what someone just
    opened (warm_children) is worth something only for a few seconds: under load a plain queue would spend
    minutes on views nobody looks at any more, while the requests of people wait for the CPU."""

    def __init__(self, keep: int, name: str):
        self.keep, self.name = keep, name
        self._waiting: OrderedDict[Hashable, Callable[[], object]] = OrderedDict()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self.dropped = 0  # jobs forgotten unrun (more asks than the thread could do)

    def submit(self, key: Hashable, job: Callable[[], object]) -> None:
        """Queue `job` as the newest (replacing a waiting job of the same key)."""
        with self._cv:
            self._waiting.pop(key, None)
            self._waiting[key] = job
            while len(self._waiting) > self.keep:
                self._waiting.popitem(last=False)
                self.dropped += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cv.notify()

    def waiting(self) -> list:
        """The keys waiting, oldest first."""
        with self._cv:
            return list(self._waiting)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._waiting:
                    self._cv.wait()
                _key, job = self._waiting.popitem(last=True)
            try:
                job()
            except Exception:  # noqa: BLE001 - a failed job must not stop the ones after it
                log.exception("background job failed in %s", self.name)
