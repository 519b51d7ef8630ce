"""The cockpit's first view without a wait: the page is laid out in the app's layout itself (not by Dash pages'
routing callback, one round trip later), and the browser fetches the view's geometry while its scripts load.

assets/gridcockpit.js names the page (path and query) in the layout request's `page` parameter; the
query's areas are screened as the routing callback's are (an area outside the scope falls back to home,
logged), and the page's own ACCESS check (dashboard.auth.guard_pages) decides what is drawn. Without the
parameter, or on other pages, the layout is Dash pages' empty container and the routing callback fills it.

The cockpit's HTML also starts what its first render waits for while the scripts load: the layout and the
callbacks (preloaded at the URLs Dash then asks for), the view's geometry (the layout carries the choropleth's
when it is small: dashboard.geo_routes.inline_geometry), and the map's lazily loaded chunks
(run with the bundles, so the choropleth is built in React's first pass, not two chunk loads later).
"""
from __future__ import annotations

import re
from html import escape
from urllib.parse import parse_qs, quote, urlsplit

import dash
import flask
from dash import dcc, html

PAGE_PARAM = "page"  # of the layout request: the page's path and query (assets/gridcockpit.js sets it)
HASH_PARAM = "hash"  # and the browser's URL fragment ('' for none)
FIRST_PATHS = ("/", "/embed")  # pages laid out with the app's layout; the others come by the routing callback
PRELOAD_PATHS = ("/",)  # an embed fetches with its token header and no cookies: a preload would not match
MAX_CHARS = 2000  # of a page or fragment named on the layout request (longer ones are not taken)


def page_query(search: str) -> dict:
    """The keyword arguments Dash pages give a layout for a query string (a list when a key repeats)."""
    parsed = parse_qs(search[1:], keep_blank_values=True) if search.startswith("?") else {}
    return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}


def container(pathname: str | None = None, search: str = "", content=None, title: str | None = None) -> html.Div:
    """Dash pages' container (location, content, title store), with a page already in it when given."""
    where = {"pathname": pathname, "search": search} if pathname is not None else {}
    return html.Div([
        # With pathname and search set to the browser's own, the location reports no change on mount,
        # so the routing callback does not run (it still runs on every later navigation).
        dcc.Location(id="_pages_location", refresh="callback-nav", **where),
        html.Div(id="_pages_content", disable_n_clicks=True, **({"children": content} if content is not None else {})),
        dcc.Store(id="_pages_store", **({"data": {"title": title}} if title else {})),
        html.Div(id="_pages_dummy", disable_n_clicks=True),
    ])


def split_page(raw: str | None, strip=lambda p: p.strip("/")) -> tuple[str, str, str] | None:
    """(pathname, search, page path) of a `page` parameter value naming a page laid out here, else None."""
    if not raw or len(raw) > MAX_CHARS:
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    page = "/" + strip(parts.path)
    if page not in FIRST_PATHS:
        return None
    return parts.path, ("?" + parts.query if parts.query else ""), page


def screened_search(search: str, log: bool = True) -> str:
    """The query with every area outside the principal's scope replaced by its home (as the routing
    callback's address bar is screened), the fallback written to the access log."""
    from governance.accounts.accounts import log_access

    from .auth import client_ip, principal
    from .request_guard import _query_areas, fallback_url
    from .runtime import current

    if not _query_areas(search):
        return search
    rt, p = current(), principal()
    with rt.engine.connect() as conn:
        safe = fallback_url(conn, search, p)
    if safe != search and log:
        with rt.engine.begin() as conn:
            log_access(conn, p.name or p.label, "scope_fallback", rt.now(),
                       target=f"area:{','.join(_query_areas(search))}"[:120],
                       detail="/_dash-layout?page", ip=client_ip())
    return safe


def first_hash() -> str | None:
    """The browser's URL fragment when the page being laid out is the layout request's own ('' for none; None
    when the page router builds it, or the request names no sensible fragment)."""
    if not flask.has_request_context():
        return None
    raw = flask.g.get("cockpit_first_hash")
    return raw if isinstance(raw, str) and len(raw) <= MAX_CHARS and (raw == "" or raw.startswith("#")) else None


def first_layout() -> html.Div:
    """The app's layout: Dash pages' container, with the cockpit already in it when the browser names it."""
    asked = split_page(flask.request.args.get(PAGE_PARAM), dash.get_app().strip_relative_path) \
        if flask.has_request_context() else None
    if asked is None:
        return html.Div(className="app-root", children=[container()])
    flask.g.cockpit_first_hash = flask.request.args.get(HASH_PARAM)
    pathname, search, path = asked
    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    layout, title = page["layout"], page["title"]
    content = layout(**page_query(screened_search(search))) if callable(layout) else layout
    return html.Div(className="app-root", children=[
        container(pathname, search, content, title() if callable(title) else title)])


URI_COMPONENT_SAFE = "!'()*-._~"  # what encodeURIComponent leaves as it is, besides letters and digits


def layout_url(prefix: str, page: str, fragment: str = "") -> str:
    """The layout request's URL for a page (path and query) and fragment, as assets/gridcockpit.js builds it
    (encodeURIComponent's escaping, so the preloaded URL is the one asked for)."""
    return (f"{prefix}_dash-layout?{PAGE_PARAM}={quote(page, safe=URI_COMPONENT_SAFE)}"
            f"&{HASH_PARAM}={quote(fragment, safe=URI_COMPONENT_SAFE)}")


def preload_links() -> str:
    """<link rel=preload> tags for what a cockpit page's first render waits for ('' elsewhere): its layout, the
    callbacks, and the geometry of the view its HTML opens on (the outline; the choropleth's too when it is
    too large for the layout to carry it)."""
    from .auth import allowed, principal
    from .cockpit_view import map_level, resolve_view
    from .geo_routes import geometry_url, inline_geometry

    if not flask.has_request_context() or flask.request.path not in PRELOAD_PATHS:
        return ""
    p = principal()
    # A wall on a playlist opens the view in its fragment, which the server does not see.
    if p.kind not in ("user", "kiosk") or not allowed(p, "view_cockpit") or not p.shows("map") or p.playlist:
        return ""
    query = flask.request.query_string.decode("latin-1")
    search = "?" + query if query else ""
    view, area = resolve_view(screened_search(search, log=False))
    prefix = dash.get_app().config.requests_pathname_prefix
    level = map_level(view, area)
    urls = (layout_url(prefix, flask.request.path + search), f"{prefix}_dash-dependencies",
            *([] if inline_geometry(area.code, level) else [geometry_url(area.code, level)]),
            geometry_url(area.code, area.level))
    return "".join(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{escape(u)}">' for u in urls)


# Dash's @babel/polyfill: core-js for browsers older than any the cockpit supports (assets/regenerator.js
# provides the one global its bundles use).
POLYFILL = re.compile(r'<script src="[^"]*/deps/polyfill@[^"]*"></script>\n?')
MAP_BUNDLE = re.compile(r'(<script src="[^"]*/dash_leaflet/dash_leaflet[^"]*\.js"></script>)')
MAP_CHUNKS = ("async-GeoJSON.js", "async-geobuf.js")  # the choropleth and its geometry decoder


def first_scripts(scripts: str, prefix: str = "/") -> str:
    """The page's script tags without Dash's polyfill, and with the map's lazily loaded chunks run right after
    the map bundle (webpack installs them, so React builds the choropleth without waiting to fetch them)."""
    chunks = "".join(f'\n<script src="{prefix}_dash-component-suites/dash_leaflet/{c}"></script>' for c in MAP_CHUNKS)
    return MAP_BUNDLE.sub(lambda m: m.group(1) + chunks, POLYFILL.sub("", scripts), count=1)


TITLE_OUTPUT = "_pages_dummy.children"  # Dash pages' clientside callback that writes document.title


def title_without_initial_call(callbacks: list) -> bool:
    """Mark Dash pages' title callback as not called when the page loads (the page's HTML already has its title;
    every later navigation still sets it); True once it is marked. Dash's work for that call, the only one left
    as the layout loads, came between React's first pass and the polygons (A/B probe: ~50 ms)."""
    for cb in callbacks:
        if cb.get("output") == TITLE_OUTPUT:
            cb["prevent_initial_call"] = True
            return True
    return False


def install_first_page(app: dash.Dash) -> None:
    """Lay the cockpit out with the app's layout; start what its first render waits for from the page's HTML."""
    app.layout = first_layout
    marked = []

    @app.server.before_request
    def title_once():  # after Dash's own hooks, which register the callback on the first request
        if not marked and title_without_initial_call(app._callback_list):
            marked.append(True)
    interpolate = app.interpolate_index
    prefix = app.config.requests_pathname_prefix

    def interpolate_index(**kwargs):
        # The preloads after the scripts: the browser asks for the scripts first (six connections at a time),
        # and the layout and geometry still arrive long before the scripts have run.
        return interpolate(**{**kwargs, "scripts": first_scripts(kwargs.get("scripts", ""), prefix) + preload_links()})
    app.interpolate_index = interpolate_index
