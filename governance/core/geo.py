"""Datum conversions between WGS84, GCJ-02 and BD-09, vectorised with numpy.

GCJ-02 (the 'Mars' datum of AMap/Tencent maps) applies a published, non-linear offset to WGS84;
BD-09 (Baidu) adds a further rotation. The forward formulas are the widely documented public
ones (Krasovsky 1940 ellipsoid); the inverse is computed by fixed-point iteration to < 1e-7°.
"""
from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
             + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
             + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def in_china(lon, lat) -> np.ndarray:
    """True where a point lies in the rough box inside which GCJ-02 applies an offset."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 lon/lat (scalars or arrays) to GCJ-02."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    d_lon, d_lat = _offset(lon, lat)
    mask = in_china(lon, lat)
    return np.where(mask, lon + d_lon, lon), np.where(mask, lat + d_lat, lat)


def gcj02_to_wgs84(lon, lat):
    """Convert GCJ-02 lon/lat to WGS84 by iterating the forward transform (error < 1e-7°)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    w_lon, w_lat = lon.copy(), lat.copy()
    for _ in range(8):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        w_lon = w_lon - (g_lon - lon)
        w_lat = w_lat - (g_lat - lat)
    return w_lon, w_lat


def bd09_to_gcj02(lon, lat):
    """Convert Baidu BD-09 lon/lat to GCJ-02."""
    x, y = np.asarray(lon, float) - 0.0065, np.asarray(lat, float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 lon/lat to Baidu BD-09."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_wgs84(lon, lat):
    """Convert Baidu BD-09 lon/lat to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon, lat, datum: str):
    """Convert coordinates in the named datum ('wgs84', 'gcj02', 'bd09') to WGS84."""
    datum = datum.lower().replace("-", "")
    if datum == "wgs84":
        return np.asarray(lon, float), np.asarray(lat, float)
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown datum {datum!r}: expected wgs84, gcj02 or bd09")


def geometry_gcj02_to_wgs84(geom):
    """Return a shapely geometry with every vertex converted from GCJ-02 to WGS84."""
    import shapely

    def _convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, _convert)


def geometry_wgs84_to_gcj02(geom):
    """Return a shapely geometry with every vertex converted from WGS84 to GCJ-02 (for GCJ tiles)."""
    import shapely

    def _convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, _convert)


METRES_PER_DEG_LAT = 111_320.0


def metres_per_deg_lon(lat: float) -> float:
    """Length in metres of one degree of longitude at a latitude (spherical approximation)."""
    return METRES_PER_DEG_LAT * float(np.cos(np.radians(lat)))
