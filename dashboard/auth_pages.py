"""Sign-in, sign-out, wall-device links and the embed-token endpoint (plain HTML forms, no JavaScript)."""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from html import escape

import flask
from flask import Blueprint, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from governance.core.access import PANELS
from governance.accounts.accounts import (LOCK_WINDOW, AuthError, authenticate, device_by_token, end_session, kiosk_device,
                                 log_access, open_session)
from governance.accounts.api_clients import client_for_bearer, embed_area_allowed
from governance.core.embed_tokens import EmbedTokenError, mint_embed_token

from .auth import (CSRF_COOKIE, SESSION_COOKIE, client_ip, principal, set_csrf_cookie, set_session_cookie)
from .refusals import page as _page
from .refusals import refusal_page
from .runtime import current

auth_routes = Blueprint("auth_routes", __name__)
FORM_SALT = "login-form"       # the sign-in form's token is signed over the browser's nonce …
NONCE_COOKIE = "gc_login_nonce"  # … which only this site can read (HttpOnly) or send (SameSite=Strict)
FORM_MAX_AGE = 3600

def _form_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current().secret(), salt=FORM_SALT)


def _safe_next(value: str | None) -> str:
    """Only same-origin relative paths ("/…"): never an open redirect, never a header that breaks."""
    if (not value or value[0] != "/" or value[1:2] == "/" or "\\" in value
            or any(ord(c) < 0x21 or ord(c) == 0x7f or not c.isprintable() for c in value)):
        return "/"
    return value


def _nonce(value: str | None = None) -> str:
    """The browser's sign-in nonce when it looks like one of ours, else a new random one."""
    if value and re.fullmatch(r"[A-Za-z0-9_-]{43}", value):
        return value
    return secrets.token_urlsafe(32)


def _set_nonce(resp: flask.Response, nonce: str) -> flask.Response:
    resp.set_cookie(NONCE_COOKIE, nonce, httponly=True, samesite="Strict", path="/login",
                    secure=current().settings.secure_cookies, max_age=FORM_MAX_AGE)
    return resp


def _form_is_ours() -> bool:
    """True when the posted form token was signed (within the hour) over this browser's nonce cookie."""
    cookie = request.cookies.get(NONCE_COOKIE, "")
    try:
        nonce = _form_serializer().loads(request.form.get("form_token", ""), max_age=FORM_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return False
    return bool(cookie) and isinstance(nonce, str) and hmac.compare_digest(nonce.encode(), cookie.encode())


def _cross_site() -> bool:
    """True when the browser says the form was posted from another site."""
    origin = request.headers.get("Origin")
    return ((origin is not None and origin != request.host_url.rstrip("/"))
            or request.headers.get("Sec-Fetch-Site") == "cross-site")


def _login_page(message: str = "", status: int = 200, username: str = "", nonce: str | None = None) -> flask.Response:
    nonce = _nonce(nonce)
    token = _form_serializer().dumps(nonce)
    nxt = _safe_next(request.values.get("next"))
    error = f'<p class="auth-error" role="alert">{escape(message)}</p>' if message else ""
    body = f"""{error}<form method="post" action="/login" class="auth-form">
<input type="hidden" name="form_token" value="{escape(token)}"><input type="hidden" name="next" value="{escape(nxt)}">
<label>用户名<input name="username" autocomplete="username" required value="{escape(username)}"></label>
<label>密码<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" class="action-button primary">登录</button></form>"""
    return _set_nonce(_page("登录", body, status), nonce)


@auth_routes.get("/login")
def login_form():
    """The sign-in form, with a token bound to this browser's nonce cookie."""
    return _login_page(nonce=request.cookies.get(NONCE_COOKIE))


@auth_routes.post("/login")
def login_submit():
    """Check the origin, the form token and the password (throttled), open a session, go where asked."""
    rt, nonce = current(), request.cookies.get(NONCE_COOKIE)
    if _cross_site():
        return _login_page("请从本站的登录页登录", 403, nonce=nonce)
    if not _form_is_ours():
        return _login_page("表单已过期，请重新登录", 400, nonce=nonce)
    username = request.form.get("username", "")
    try:
        uid = authenticate(rt.engine, username, request.form.get("password", ""), client_ip(), rt.now())
    except AuthError as exc:
        resp = _login_page(str(exc), exc.status, username, nonce)
        if exc.status == 429:
            resp.headers["Retry-After"] = str(int(LOCK_WINDOW.total_seconds()))
        return resp
    with rt.engine.begin() as conn:
        token, csrf = open_session(conn, rt.now(), user_id=uid)
    resp = flask.redirect(_safe_next(request.form.get("next")))
    set_session_cookie(resp, token)
    set_csrf_cookie(resp, csrf)
    return _set_nonce(resp, _nonce())  # a new nonce: no form issued before the sign-in stays valid


@auth_routes.post("/logout")
def logout():
    """End the session (checked for CSRF by the gate) and clear its cookies."""
    rt = current()
    with rt.engine.begin() as conn:
        end_session(conn, request.cookies.get(SESSION_COOKIE, ""), rt.now())
        log_access(conn, principal().name, "logout", rt.now(), ip=client_ip())
    resp = flask.redirect("/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp


@auth_routes.get("/kiosk/<token>")
def kiosk_open(token: str):
    """A wall device's link: signs the browser in as the device and opens its first view."""
    rt = current()
    with rt.engine.begin() as conn:
        device_id = device_by_token(conn, token)
        if device_id is None:
            log_access(conn, "?", "kiosk_refused", rt.now(), ip=client_ip())
            return refusal_page("大屏设备链接无效或已停用", 403)
        session_token, csrf = open_session(conn, rt.now(), device_id=device_id)
        device = kiosk_device(conn, device_id)
        log_access(conn, device.name, "kiosk_open", rt.now(), ip=client_ip())
    first = (device.playlist or [{}])[0].get("view") or f"#area={device.area_code}"
    resp = flask.redirect("/" + first)
    set_session_cookie(resp, session_token, kiosk=True)
    set_csrf_cookie(resp, csrf, kiosk=True)
    return resp


def embed_client(conn, header: str):
    """The live API client with the "embed" scope a bearer header names, or None."""
    return client_for_bearer(conn, header, "embed")


@auth_routes.post("/api/v1/embed-tokens")
def mint_embed():
    """For a portal's backend: mint a short-lived embed token inside the client's area subtree."""
    rt = current()
    body = request.get_json(silent=True) or {}
    with rt.engine.begin() as conn:
        client = embed_client(conn, request.headers.get("Authorization", ""))
        if client is None:
            return flask.jsonify(error="未授权：需要具有 embed 权限的接入令牌"), 401
        area = str(body.get("area") or client.area_code)
        if not embed_area_allowed(conn, client, area):
            return flask.jsonify(error=f"区域 {area} 不在该接入方的授权范围内"), 403
        try:
            ttl = timedelta(seconds=int(body.get("ttl_seconds", 600)))
            token = mint_embed_token(rt.secret(), area, rt.now(), body.get("panels") or list(PANELS), ttl,
                                     portal=client.name)
        except (EmbedTokenError, ValueError, TypeError) as exc:
            return flask.jsonify(error=str(exc)), 400
        log_access(conn, f"接入方:{client.name}", "embed_mint", rt.now(), target=area,
                   detail=",".join(body.get("panels") or PANELS), ip=client_ip())
    return flask.jsonify(token=token, url=f"/embed?token={token}", expires_in=int(ttl.total_seconds())), 201
