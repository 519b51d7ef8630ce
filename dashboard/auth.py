"""Who is asking: sessions, wall devices and embed tokens become a Principal; every route and callback is checked.

Deny by default: a Flask endpoint without an entry in ROUTE_ACCESS and a Dash callback without
`@requires(...)` are refused (tests/test_access_matrix.py fails when one is missing).
"""
from __future__ import annotations

import functools
from datetime import timedelta

import flask
from flask import g, request

from governance.core.access import ANONYMOUS, Principal
from governance.accounts.accounts import ACTOR_AREA, resolve_session
from governance.core.embed_tokens import EmbedTokenError, read_embed_token, renewed
from governance.events.queries import area_by_code

from .refusals import refusal_component, refusal_page
from .runtime import current

SESSION_COOKIE = "gc_session"
CSRF_COOKIE = "_csrf_token"      # read by Dash's renderer, which echoes it as X-CSRFToken
CSRF_HEADER = "X-CSRFToken"
EMBED_HEADER = "X-Embed-Token"
KIOSK_COOKIE_AGE = timedelta(days=400)  # the longest a browser keeps a cookie; renewed on use
PUBLIC, SESSION = "public", "session"  # SESSION: a signed-in person or wall (cookie session)

# Every Flask endpoint: "public", "session" or a permission. Unlisted endpoints are refused.
ROUTE_ACCESS: dict[str, str] = {
    "static": PUBLIC, "_dash_assets.static": PUBLIC,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": PUBLIC,
    "/_favicon.ico": PUBLIC, "/_reload-hash": PUBLIC,
    # The layout carries a cockpit page only as that page's checked layout builds it (cockpit_first), with the
    # address bar's areas screened; callbacks check themselves.
    "/_dash-layout": PUBLIC, "/_dash-dependencies": PUBLIC,
    "/_dash-update-component": PUBLIC,                       # each callback is checked by its @requires
    "/": PUBLIC, "/<path:path>": PUBLIC,                     # page HTML; page layouts are checked (ACCESS)
    "auth_routes.login_form": PUBLIC, "auth_routes.login_submit": PUBLIC,
    "auth_routes.logout": SESSION, "auth_routes.kiosk_open": PUBLIC,
    "auth_routes.mint_embed": PUBLIC,                        # bearer token of an API client with "embed"
    "health.health_json": PUBLIC,                            # feed status for monitoring, no personal data
    "push.push_events": PUBLIC,                              # bearer token of an API client with "push"
    "geo.area_geobuf": "view_cockpit", "geo.area_tile": "view_cockpit", "geo.warning_points": "view_cockpit",
    "export.events_csv": "export", "export.events_xlsx": "export",
    "people_export.people_csv": "export_people",              # masked personal rows, logged (#19)
    "form_export.form_csv": "push_forms", "form_export.form_xlsx": "push_forms",  # form_id screened, logged (#19)
    "form_export.form_photo": "push_forms",  # form_photo_id screened: its assignment in the scope (#19)
    "live.changes": "view_cockpit",                          # the data version only, pushed as it moves
    "briefs.brief_pdf": "view_briefs", "briefs.brief_xlsx": "view_briefs",  # a stored 工作简报 (brief_id screened)
    "worker_api.worker_action": PUBLIC,                      # X-Task-Credential checked by task_links.grant
    "worker_api.photo_file": "view_ledger",                  # photo_id screened: its event in the scope
    "visit_api.visit_action": SESSION,                       # 关爱走访: the worker's own visit tasks only (#19)
    "admin_routes.reset_form": PUBLIC, "admin_routes.reset_submit": PUBLIC,  # the one-time link is the credential
    "admin_routes.audit_csv": "admin", "admin_routes.audit_xlsx": "admin",   # rows of the admin's subtree only
    "participation.rider_points_csv": "export",              # riders' points for the 兑换 desk (#20)
    "participation.drill_print": "run_drills",               # printable drill report (#20)
}
# Routes that serve one cockpit panel's data: an embed token without that panel is refused.
ROUTE_PANELS: dict[str, tuple[str, ...]] = {
    "geo.area_geobuf": ("map",), "geo.area_tile": ("map",), "geo.warning_points": ("map",),
}
# Pages a browser may open without signing in (their own token is the credential).
PUBLIC_PAGE_PREFIXES = ("/worker/", "/embed")


def principal() -> Principal:
    """The principal of the current request (anonymous outside a request)."""
    return g.get("principal", ANONYMOUS) if flask.has_request_context() else ANONYMOUS


def home_code() -> str:
    """Code of the area a view opens on for this principal (its scope root, else the world's focus)."""
    p = principal()
    if p.home:
        return p.home
    from governance.events.queries import world_info

    with current().engine.connect() as conn:
        return world_info(conn).get("focus_code", "510100")


def covers(path: str | None) -> bool:
    """True when an area path lies in the current principal's scope."""
    return principal().covers(path)


def requires(access: str, panels: tuple[str, ...] = ()):
    """Mark a Dash callback with the permission it needs ("public" for self-authenticating ones).

    `panels`: an embed token must grant at least one of these cockpit panels (see PANELS) to call it.
    """
    def mark(func):
        @functools.wraps(func)
        def checked(*args, **kwargs):
            if access != PUBLIC and not principal().can(access):
                from dash.exceptions import PreventUpdate

                raise PreventUpdate
            return func(*args, **kwargs)
        checked.__access__ = access
        checked.__panels__ = tuple(panels)
        return checked
    return mark


def allowed(p: Principal, access: str) -> bool:
    """True when principal `p` passes an access rule."""
    if access == PUBLIC:
        return True
    if access == SESSION:
        return p.kind in ("user", "kiosk")
    return p.can(access)


def client_ip() -> str:
    """The client's address (the proxy is expected to set REMOTE_ADDR correctly, e.g. via ProxyFix)."""
    return request.remote_addr or "?"


def _embed_principal(token: str) -> tuple[Principal | None, str | None, str | None]:
    """(principal, renewed token, refusal reason) of an embed token."""
    rt = current()
    try:
        payload = read_embed_token(rt.secret(), token, rt.now())
    except EmbedTokenError as exc:
        return None, None, str(exc)
    with rt.engine.connect() as conn:
        area = area_by_code(conn, payload["a"])
    if area is None:
        return None, None, "嵌入令牌指向的区域不存在"
    p = Principal(kind="embed", name=payload.get("iss") or "门户", scope=(area.path,), home=area.code,
                  panels=frozenset(payload["p"]))
    return p, renewed(rt.secret(), payload, rt.now()), None


def _resolve() -> None:
    """Set g.principal (and g.embed_renewal / g.auth_error) from the request's credentials."""
    g.principal, g.embed_renewal, g.auth_error = ANONYMOUS, None, None
    token = request.headers.get(EMBED_HEADER)
    if token is None and request.path == "/embed":
        token = request.args.get("token")
    if token is not None:
        p, g.embed_renewal, g.auth_error = _embed_principal(token)
        g.principal = p or ANONYMOUS
        g.by_header = True
        return
    g.by_header = False
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        rt = current()
        with rt.engine.begin() as conn:
            p = resolve_session(conn, cookie, rt.now())
        if p is None:
            g.auth_error = "登录已过期或已退出，请重新登录"
        else:
            g.principal = p


def _callback_rule(app) -> tuple[str | None, tuple[str, ...]]:
    """(declared access, panels) of the callback a /_dash-update-component request asks for."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, ()
    entry = app.callback_map.get(str(body.get("output", "")))
    if entry is None:
        return None, ()
    if "_pages_content" in str(body.get("output", "")):
        return PUBLIC, ()  # Dash's page router: each page's layout checks its own ACCESS
    fn = entry.get("callback")
    while fn is not None:
        if hasattr(fn, "__access__"):
            return fn.__access__, getattr(fn, "__panels__", ())
        fn = getattr(fn, "__wrapped__", None)
    return None, ()


class _LazyConnection:
    """A database connection opened at its first use: most callbacks (the wall's refresh among them)
    name no id, and checking out a connection costs a round trip on PostgreSQL (pre-ping)."""

    def __init__(self, engine):
        self.engine, self.conn = engine, None

    def __getattr__(self, name):
        if self.conn is None:
            self.conn = self.engine.connect()
        return getattr(self.conn, name)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        if self.conn is not None:
            self.conn.close()


def _screen_ids(endpoint: str):
    """Refuse (and log) a request naming an id outside the principal's scope; None when every id passes."""
    from .request_guard import screen_callback, screen_route

    rt, p = current(), principal()
    with _LazyConnection(rt.engine) as conn:
        if endpoint == "/_dash-update-component":
            def task_grant(credential):
                from governance.events.task_links import grant

                held = grant(conn, str(credential or ""), rt.now(), staff_id=p.staff_id)
                return held.event_ids if held else frozenset()
            refusal = screen_callback(conn, request.get_json(silent=True) or {}, p, rt.now(), task_grant)
        else:
            refusal = screen_route(conn, request.view_args, request.args, p)
    if refusal is None:
        return None
    from governance.accounts.accounts import log_access

    with rt.engine.begin() as conn:
        log_access(conn, p.name or p.label, "scope_fallback" if refusal.fallback else "scope_refused", rt.now(),
                   target=f"{refusal.kind}:{refusal.value}"[:120], detail=f"{endpoint} {refusal.where}", ip=client_ip())
    if refusal.fallback:
        return None  # the address bar named a foreign area: the request goes on for the principal's home
    if endpoint == "/_dash-update-component":
        return _refuse(403, refusal.message)
    return _refuse(404, "无此资源或无权访问")  # a route: outside the scope looks exactly like unknown


def _refuse(status: int, message: str):
    if request.accept_mimetypes.accept_html and request.method == "GET" and not request.path.startswith("/api/"):
        return refusal_page(message, status)
    return flask.jsonify(error=message), status


def install_auth(app) -> None:
    """Check every request: resolve the principal, apply route access, callback access and CSRF."""
    server = app.server

    @server.before_request
    def _gate():
        endpoint = request.endpoint or ""
        access = ROUTE_ACCESS.get(endpoint)
        if access is None:
            return _refuse(404 if request.url_rule is None else 403, "无此资源或无权访问")
        if endpoint in ("static", "_dash_assets.static",
                        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"):
            return None
        _resolve()
        p = principal()
        ACTOR_AREA.set(p.scope[0] if p.kind != "anonymous" and p.scope else None)  # access-log rows: where p sits
        if request.method not in ("GET", "HEAD", "OPTIONS") and p.kind in ("user", "kiosk") and not g.by_header \
                and endpoint != "auth_routes.login_submit":  # sign-in has its own form nonce and Origin check
            sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
            origin = request.headers.get("Origin")
            if sent != p.csrf or (origin and origin != request.host_url.rstrip("/")):
                return _refuse(403, "请求校验失败（CSRF），请刷新页面后重试")
        if endpoint == "/_dash-update-component":
            cb_access, panels = _callback_rule(app)
            if cb_access is None or not allowed(p, cb_access):
                return _refuse(401 if p.kind == "anonymous" else 403, g.auth_error or "无权执行此操作")
            if panels and not any(p.shows(panel) for panel in panels):
                # A panel the embed token leaves out: nothing is computed or sent (the page itself asks,
                # since the panel's callbacks are part of the cockpit's layout: no error for the portal).
                return flask.Response(status=204)
            return _screen_ids(endpoint)
        if endpoint in ("/", "/<path:path>") and p.kind == "anonymous" \
                and not request.path.startswith(PUBLIC_PAGE_PREFIXES):
            if g.auth_error and request.cookies.get(SESSION_COOKIE) and _was_kiosk():
                return _refuse(401, "此大屏设备已停用或登录已失效，请联系管理员")
            return flask.redirect(f"/login?next={flask.request.full_path.rstrip('?')}")
        if request.path == "/embed" and g.auth_error:
            return _refuse(403, g.auth_error)
        if not allowed(p, access):
            return _refuse(401 if p.kind == "anonymous" else 403, g.auth_error or "无权访问")
        if endpoint in ROUTE_PANELS and not any(p.shows(panel) for panel in ROUTE_PANELS[endpoint]):
            return _refuse(403, "嵌入令牌未授权此面板")
        if endpoint in ("/", "/<path:path>"):
            return None  # the page shell holds no data; its layout comes through a screened callback
        return _screen_ids(endpoint)

    @server.after_request
    def _credentials(resp):
        if g.get("embed_renewal"):
            resp.headers[EMBED_HEADER] = g.embed_renewal
            resp.headers["Access-Control-Expose-Headers"] = EMBED_HEADER
        p = principal()
        if p.kind in ("user", "kiosk") and not g.get("by_header") and request.cookies.get(CSRF_COOKIE) != p.csrf:
            set_csrf_cookie(resp, p.csrf, kiosk=p.kind == "kiosk")
        if p.kind == "kiosk" and request.endpoint in ("/", "/<path:path>"):  # renew the wall's cookie
            set_session_cookie(resp, request.cookies.get(SESSION_COOKIE, ""), kiosk=True)
        if resp.mimetype == "text/html":  # pages depend on who asks: never cached by a shared proxy
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def _was_kiosk() -> bool:
    """True when the (now invalid) session cookie belonged to a wall device."""
    from governance.accounts.accounts import session_kind

    with current().engine.connect() as conn:
        kind = session_kind(conn, request.cookies.get(SESSION_COOKIE, ""))
    return kind == "kiosk"


def set_session_cookie(resp, token: str, kiosk: bool = False) -> None:
    """Set the session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS; long-lived for walls."""
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", path="/",
                    secure=current().settings.secure_cookies,
                    max_age=int(KIOSK_COOKIE_AGE.total_seconds()) if kiosk else None)


def set_csrf_cookie(resp, csrf: str, kiosk: bool = False) -> None:
    """Set the double-submit CSRF cookie Dash's renderer sends back as a header."""
    resp.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict", path="/",
                    secure=current().settings.secure_cookies,
                    max_age=int(KIOSK_COOKIE_AGE.total_seconds()) if kiosk else None)


def guard_pages() -> None:
    """Wrap every registered page layout so it renders only for principals its ACCESS allows."""
    import dash

    for page in dash.page_registry.values():
        module = __import__(page["module"], fromlist=["ACCESS"])
        access = getattr(module, "ACCESS", None)
        if access is None:
            raise RuntimeError(f"page {page['module']} declares no ACCESS")
        layout = page["layout"]
        if getattr(layout, "__access__", None):
            continue

        def guarded(*args, _layout=layout, _access=access, **kwargs):
            p = principal()
            if not allowed(p, _access):
                return refusal_component(p)
            return _layout(*args, **kwargs)
        guarded.__access__ = access
        page["layout"] = guarded
