"""Area scope: subtree filters on materialised paths, usable on any database with an index."""
from __future__ import annotations

from sqlalchemy import and_


def path_range(path: str) -> tuple[str, str]:
    """Return [low, high) bounds that select every path below `path` (which ends with '/')."""
    if not path.endswith("/"):
        raise ValueError(f"area path must end with '/': {path!r}")
    return path, path[:-1] + "0"  # '0' sorts right after '/'


def subtree(column, path: str):
    """SQL condition: `column` holds a path inside the subtree rooted at `path`."""
    low, high = path_range(path)
    return and_(column >= low, column < high)
