"""Compressed answers (flask-compress), with the page's script bundles compressed once per process, not per visit.

Dash serves its component bundles from the installed packages under `/_dash-component-suites/` (most with the
package version in the URL): a path's body does not change while the process runs, so its brotli/gzip form can
be kept. A wall's first render waits for ~1.5 MB of such bundles (~50 ms of compression on every visit otherwise, on the same cores that answer its callbacks);
plotly.js alone is 3.6 MB. Everything else (callbacks, geometry, pages) is compressed per answer as before.
"""
from __future__ import annotations

import threading

from dash.fingerprint import check_fingerprint
from flask import Flask
from flask_compress import Compress

BUNDLES = "/_dash-component-suites/"


def bundle_key(req) -> str:
    """The compression cache's key of a request: the file a component bundle's path names, '' (never kept) otherwise.

    The version part of the path is dropped (any version serves the installed file), so the keys are bounded by
    the installed files, whatever paths are asked for.
    """
    if req.method != "GET" or req.query_string or not req.path.startswith(BUNDLES):
        return ""
    return check_fingerprint(req.path[len(BUNDLES):])[0]


class BundleCache:
    """Compressed bundles by algorithm and path; keys of other answers ('<algorithm>;') are neither kept nor found."""

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The kept compressed body for `key`, if any."""
        return self._bodies.get(key)

    def set(self, key: str, value: bytes) -> None:
        """Keep a bundle's compressed body (the set of bundles is fixed by the installed packages)."""
        if key.endswith(";"):
            return
        with self._lock:
            self._bodies[key] = value


def install_compression(server: Flask) -> None:
    """Compress answers; component bundles from a per-process cache."""
    server.config.setdefault("COMPRESS_CACHE_KEY", bundle_key)
    server.config.setdefault("COMPRESS_CACHE_BACKEND", BundleCache)
    server.extensions["compress"] = Compress(server)
