"""The process-wide runtime the pages and callbacks use: settings and database engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Engine

from governance.core.config import Settings
from governance.core.timeutil import utcnow


@dataclass
class Runtime:
    """What a running web process knows: its settings and its engine."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = field(default=utcnow)

    def secret(self) -> str:
        """The signing secret (COCKPIT_SECRET_KEY; generated only in demo mode)."""
        from governance.core.config import secret_key

        return secret_key(self.settings)

    def now(self) -> datetime:
        """Current time as naive UTC (tests install a fixed clock)."""
        return self.clock()


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one callbacks use (called once by create_app)."""
    global _current
    _current = runtime


def current() -> Runtime:
    """Return the installed runtime, or fail loudly if the app was not created."""
    if _current is None:
        raise RuntimeError("dashboard runtime not installed: build the app with dashboard.app.create_app")
    return _current
