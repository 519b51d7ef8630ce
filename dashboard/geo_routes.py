"""HTTP routes serving area geometry as geobuf, cached per world and validated by ETag."""
from __future__ import annotations

import hashlib
from functools import lru_cache

import geobuf
from flask import Blueprint, Response, abort, request

from governance.models import AREA_LEVELS
from governance.queries import area_by_code, area_features, world_info

from .runtime import current

geo = Blueprint("geo", __name__)


@lru_cache(maxsize=64)
def _encoded(world_key: str, code: str, level: str) -> tuple[bytes, str]:
    engine = current().engine
    with engine.connect() as conn:
        area = area_by_code(conn, code)
        if area is None:
            return b"", ""
        fc = area_features(conn, area.path, level)
    body = geobuf.encode(fc, 6)
    return body, hashlib.sha1(body).hexdigest()[:16]


def geometry_url(code: str, level: str) -> str:
    """URL of the geobuf of one level's areas inside an area."""
    return f"/api/v1/geo/{code}/{level}.pbf"


@geo.get("/api/v1/geo/<code>/<level>.pbf")
def area_geobuf(code: str, level: str):
    """Serve the areas of `level` inside area `code` as geobuf (404 for unknown ones)."""
    if level not in AREA_LEVELS:
        abort(404, description=f"unknown level {level!r}")
    with current().engine.connect() as conn:
        world_key = world_info(conn).get("generated_at", "")
    body, etag = _encoded(world_key, code, level)
    if not etag:
        abort(404, description=f"unknown area {code!r}")
    if request.if_none_match.contains(etag):
        return Response(status=304)
    resp = Response(body, mimetype="application/octet-stream")
    resp.set_etag(etag)
    resp.cache_control.max_age = 300
    resp.cache_control.public = True
    return resp
