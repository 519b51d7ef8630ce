"""Datum conversions: round trips, offset size in Chengdu, no offset outside China."""
import numpy as np
import pytest

from governance.core import geo


def test_gcj02_round_trip_is_centimetre_exact():
    lon = np.linspace(103.8, 104.3, 50)
    lat = np.linspace(30.4, 30.9, 50)
    g_lon, g_lat = geo.wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = geo.gcj02_to_wgs84(g_lon, g_lat)
    assert np.max(np.abs(w_lon - lon)) < 1e-7
    assert np.max(np.abs(w_lat - lat)) < 1e-7


def test_offset_in_chengdu_is_a_few_hundred_metres():
    g_lon, g_lat = geo.wgs84_to_gcj02(104.06, 30.65)
    dx = (g_lon - 104.06) * geo.metres_per_deg_lon(30.65)
    dy = (g_lat - 30.65) * geo.METRES_PER_DEG_LAT
    distance = float(np.hypot(dx, dy))
    assert 150 < distance < 700


def test_bd09_round_trip():
    g = geo.wgs84_to_gcj02(104.07, 30.66)
    b = geo.gcj02_to_bd09(*g)
    w = geo.bd09_to_wgs84(*b)
    assert abs(float(w[0]) - 104.07) < 2e-6 and abs(float(w[1]) - 30.66) < 2e-6


def test_outside_china_is_unchanged():
    lon, lat = geo.wgs84_to_gcj02(2.35, 48.85)
    assert float(lon) == 2.35 and float(lat) == 48.85


def test_unknown_datum_is_refused():
    with pytest.raises(ValueError, match="unknown datum"):
        geo.to_wgs84(104.0, 30.0, "utm")
