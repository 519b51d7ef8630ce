"""A GCJ-02 basemap gets GCJ-02 geometry; with no tiles (or WGS84 tiles) geometry stays WGS84."""
import geobuf
import numpy as np
import pytest
import requests
from sqlalchemy import text

from governance.core.config import load_settings
from governance.core.geo import wgs84_to_gcj02

from . import processes
from governance.core.timeutil import utcnow

from .conftest import http_session
from .feed_helpers import world_copy


def _first_vertex(http, url):
    fc = geobuf.decode(http.get(url).content)
    feat = sorted(fc["features"], key=lambda f: f["properties"]["code"])[0]
    ring = feat["geometry"]["coordinates"][0]
    ring = ring[0] if isinstance(ring[0][0], list) else ring
    return feat["properties"]["code"], ring[0]


def test_gcj02_tiles_shift_the_geometry(world_engine, tmp_path):
    engine = world_copy(world_engine, tmp_path)
    with engine.connect() as conn:
        focus = conn.execute(text("SELECT value FROM world_info WHERE key='focus_code'")).scalar()
    plain, p1 = processes.web(engine, tmp_path)
    shifted, p2 = processes.web(engine, tmp_path, COCKPIT_TILE_URL="http://127.0.0.1:1/{z}/{x}/{y}.png",
                                COCKPIT_TILE_DATUM="gcj02")
    http = http_session(engine, plain, "leader", now=utcnow())  # the processes run on the real clock
    try:
        code, wgs = _first_vertex(http, f"{plain}/api/v1/geo/{focus}/community.pbf")
        code2, gcj = _first_vertex(http, f"{shifted}/api/v1/geo/{focus}/community.pbf")
        page = requests.get(shifted + "/").text
    finally:
        processes.stop(p1, p2)
    expected = wgs84_to_gcj02(wgs[0], wgs[1])
    assert code == code2
    assert np.allclose(gcj, expected, atol=2e-6)  # geobuf keeps 6 decimals
    assert not np.allclose(gcj, wgs, atol=1e-4)   # the shift is a few hundred metres
    assert "<html" in page


def test_unknown_tile_datum_is_refused(monkeypatch):
    monkeypatch.setenv("COCKPIT_TILE_DATUM", "bd09")
    with pytest.raises(ValueError, match="COCKPIT_TILE_DATUM"):
        load_settings()
