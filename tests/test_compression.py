"""Compressed answers: component bundles compressed once per process, every other answer per request."""
from __future__ import annotations

import brotli
import requests

from dashboard.cockpit_first import layout_url
from dashboard.compression import BundleCache, bundle_key

from .conftest import http_session

BUNDLE = "/_dash-component-suites/dash/deps/react@18.v4_4_1m{}.3.1.min.js"


def _get(session, url: str, encoding: str) -> requests.Response:
    resp = session.get(url, headers={"Accept-Encoding": encoding}, timeout=60, stream=True)
    resp.raw.decode_content = False  # the bytes as sent
    resp._content = resp.raw.read()
    return resp


def test_a_bundle_is_compressed_once_and_any_version_of_its_path_shares_it(cockpit_app, live_server):
    cache = cockpit_app.server.extensions["compress"].cache
    plain = requests.get(live_server + BUNDLE.format(1), headers={"Accept-Encoding": "identity"}, timeout=60)
    assert plain.status_code == 200 and len(plain.content) > 1000
    first = _get(requests.Session(), live_server + BUNDLE.format(1), "br")
    assert first.headers["Content-Encoding"] == "br"
    assert brotli.decompress(first.content) == plain.content
    kept = dict(cache._bodies)
    assert "br;dash/deps/react@18.3.1.min.js" in kept
    for version in range(2, 40):  # forged versions name the same file: no new entries
        again = _get(requests.Session(), live_server + BUNDLE.format(version), "br")
        assert again.content == first.content
    assert set(cache._bodies) == set(kept)


def test_other_answers_are_never_kept(cockpit_app, world_engine, live_server):
    """Layouts and callbacks differ by person: compressed per answer, nothing kept under their keys."""
    cache = cockpit_app.server.extensions["compress"].cache
    bodies = set()
    for who in ("leader", "community", "community_b"):
        s = http_session(world_engine, live_server, who)
        resp = _get(s, live_server + "/_dash-layout", "br")
        assert resp.status_code == 200 and resp.headers.get("Content-Encoding") == "br"
        resp = s.get(live_server + layout_url("/", "/"), timeout=60)
        bodies.add(resp.content)
    assert len(bodies) == 3  # each one's own cockpit, none served from another's
    assert not [k for k in cache._bodies if not k.split(";", 1)[1] or "_dash-" in k], sorted(cache._bodies)


def test_bundle_key_and_cache_rules():
    class Req:
        def __init__(self, path, method="GET", query=b""):
            self.path, self.method, self.query_string = path, method, query
    assert bundle_key(Req("/_dash-component-suites/dash_leaflet/dash_leaflet.v1_1_3m99.js")) == "dash_leaflet/dash_leaflet.js"
    assert bundle_key(Req("/_dash-component-suites/dash_leaflet/async-GeoJSON.js")) == "dash_leaflet/async-GeoJSON.js"
    assert bundle_key(Req("/_dash-component-suites/dash_leaflet/x.js", query=b"a=1")) == ""
    assert bundle_key(Req("/_dash-layout")) == ""
    assert bundle_key(Req("/_dash-update-component", "POST")) == ""
    cache = BundleCache()
    cache.set("br;", b"x")
    assert cache.get("br;") is None
    cache.set("br;dash/a.js", b"y")
    assert cache.get("br;dash/a.js") == b"y"
