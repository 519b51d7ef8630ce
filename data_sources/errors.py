"""The two ways a feed run goes wrong: one record (quarantined) or the whole feed (retried)."""
from __future__ import annotations


class RecordError(ValueError):
    """A single record is malformed: it goes to quarantine with this message as its reason."""


class FeedError(RuntimeError):
    """The feed itself failed (HTTP error, timeout, unreadable page): the run is retried later."""
