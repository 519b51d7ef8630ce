"""GET /api/v1/health: database reachability and every feed's freshness, for monitoring (no personal data)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from data_sources.health import database_reachable, source_health
from governance.core.timeutil import to_local

health = Blueprint("health", __name__)


@health.get("/api/v1/health")
def health_json():
    """Machine-readable health: database reachability and every feed's freshness."""
    # Set by the app factory that registers this blueprint: the engine and its clock (naive UTC).
    engine, now = current_app.config["COCKPIT_ENGINE"], current_app.config["COCKPIT_CLOCK"]
    db = database_reachable(engine)
    if not db["reachable"]:
        return jsonify(database=db, sources=[]), 503
    return jsonify(database=db, sources=source_health(engine, now()), checked_at=to_local(now()).isoformat())
