"""Wait for a condition, not for a fixed time: poll until it holds or a deadline passes."""
from __future__ import annotations

import time
from collections.abc import Callable


def until(condition: Callable[[], object], timeout: float, message: str = "", every: float = 0.02):
    """Poll `condition()` until it returns a truthy value (returned) or `timeout` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        time.sleep(every)  # the polling interval, not a wait for something: the condition decides
