"""Application factory: builds the Dash app on a Flask server bound to one database.

Each app has its own runtime (settings, engine, caches; dashboard.runtime) kept on its Flask server, so
several apps can live in one process (two worlds, a test app next to another); the pages and callbacks
the house registers with Dash are given to each of them (dashboard.house_callbacks).
"""
from __future__ import annotations

from pathlib import Path

import dash
from sqlalchemy.engine import Engine

from governance.core.cache import SharedCache, namespace_of
from governance.core.config import Settings
from governance.core.db import make_engine


from .admin_routes import admin_routes
from .auth import guard_pages, install_auth
from .auth_pages import auth_routes
from .cockpit_data import install_quiet_signal
from .cockpit_first import install_first_page
from .compression import install_compression
from .health_routes import health
from .push_routes import push
from . import house_callbacks
from .brief_routes import briefs
from .export_routes import export
from .people_routes import people_export
from .form_routes import form_export
from .geo_routes import geo
from .live_routes import live
from .participation_routes import participation
from .runtime import Runtime, install
from .security import install_error_answers, install_security_headers
from .worker_routes import worker_api
from .visit_routes import visit_api

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings, engine: Engine | None = None, clock=None) -> dash.Dash:
    """Create the cockpit Dash app for `settings`; assets and scripts are served locally only."""
    runtime = Runtime(settings=settings, engine=engine or make_engine(settings.database_url))
    if clock is not None:
        runtime.clock = clock
    runtime.secret()  # fail at start, not at the first request, when production has no secret key
    SharedCache(settings.cache_dir, namespace_of(settings.database_url)).check()  # and a cache it cannot write
    install(runtime)  # what is used outside any app (CLI, tests), as before
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=house_callbacks.pages_folder(str(Path(__file__).with_name("pages"))),
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,
        update_title=None,
        title="网格驾驶舱",
        suppress_callback_exceptions=True,
    )
    house_callbacks.pages_loaded()
    app.config.include_assets_files = True
    server = app.server
    install(runtime, server)  # and this app's own: current() in its requests answers this runtime
    server.json.ensure_ascii = False
    # What the data_sources blueprints (push intake, health) use; they never import the dashboard.
    server.config["COCKPIT_ENGINE"] = runtime.engine
    server.config["COCKPIT_CLOCK"] = runtime.now
    server.register_blueprint(geo)
    server.register_blueprint(export)
    server.register_blueprint(people_export)
    server.register_blueprint(form_export)
    server.register_blueprint(push)
    server.register_blueprint(health)
    server.register_blueprint(auth_routes)
    server.register_blueprint(live)
    server.register_blueprint(briefs)
    server.register_blueprint(worker_api)
    server.register_blueprint(visit_api)
    server.register_blueprint(admin_routes)
    server.register_blueprint(participation)
    install_compression(server)
    install_quiet_signal(server)  # the drill-down warmer waits for a moment without callback requests
    if settings.proxy_hops:  # behind nginx & co.: the rate limiter and logs need the real client address
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.index_string = app.index_string.replace("<html>", '<html lang="zh-CN">')
    install_first_page(app)  # the layout: Dash pages' container, the cockpit already in it (cockpit_first)
    from . import dispatch_callbacks  # noqa: F401 - registers the dispatch panel's callbacks
    house_callbacks.adopt(app)
    guard_pages()
    install_auth(app)
    install_security_headers(app, settings.tile_url, settings.embed_origins)
    install_error_answers(app)
    return app
