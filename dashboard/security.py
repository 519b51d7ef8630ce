"""HTTP security headers on every response (CSP, no-sniff, referrer policy, no framing), body limits and
Chinese error answers for bad input (never a 500 for what a client sent)."""
from __future__ import annotations

from urllib.parse import urlsplit

import dash
import flask
from dash.exceptions import DependencyException
from flask import request
from werkzeug.exceptions import HTTPException

MAX_BODY = 4 * 1024 * 1024  # every request body, chunked or not (the push API's limit too)
# Responses holding what one principal may see: never stored by a browser or proxy cache.
NO_STORE_PATHS = ("/_dash-update-component", "/_dash-layout", "/api/v1/events.", "/api/v1/embed-tokens")
MESSAGES = {400: "请求格式有误", 404: "无此资源或无权访问", 405: "不支持该请求方法", 413: "请求体过大（上限 4 MB）",
            429: "请求过于频繁，请稍后再试"}


def content_security_policy(app: dash.Dash, tile_url: str | None = None, frame_ancestors: str = "'none'") -> str:
    """A CSP that allows only this origin, Dash's own inline scripts (by hash) and the tile host."""
    scripts = " ".join(app.csp_hashes())  # already quoted: 'sha256-…'
    img = "'self' data: blob:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        img += f" {parts.scheme}://{parts.netloc}"
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {scripts}",
        "style-src 'self' 'unsafe-inline'",  # React and Leaflet set inline styles
        f"img-src {img}",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


def install_security_headers(app: dash.Dash, tile_url: str | None = None, embed_origins: tuple = ()) -> None:
    """Add the security headers to every response; only /embed may be framed, by the configured portals."""
    policy: dict = {}

    @app.server.after_request
    def _headers(resp):
        if not policy:  # hashes are known once the index page exists
            policy["page"] = content_security_policy(app, tile_url)
            ancestors = " ".join(embed_origins) if embed_origins else "'none'"
            policy["embed"] = content_security_policy(app, tile_url, ancestors)
        embed = request.path == "/embed"
        resp.headers.setdefault("Content-Security-Policy", policy["embed" if embed else "page"])
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin" if embed else "strict-origin-when-cross-origin")
        if not embed:  # X-Frame-Options cannot name origins; CSP frame-ancestors governs /embed
            resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(NO_STORE_PATHS):
            resp.headers["Cache-Control"] = "no-store"
        return resp


def install_error_answers(app: dash.Dash) -> None:
    """Limit request bodies (also chunked ones) and answer client errors in Chinese instead of a 500."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    def answer(status: int, message: str):
        if request.accept_mimetypes.accept_html and request.method == "GET" and not request.path.startswith("/api/"):
            from .refusals import refusal_page

            return refusal_page(message, status)
        return flask.jsonify(error=message), status

    def _whole_body():
        """A chunked body (no Content-Length) is read here, so a body past the limit is a 413, not cut short."""
        if request.content_length is None and request.environ.get("wsgi.input_terminated"):
            request.get_data(cache=True)  # stops at MAX_BODY …
            if request.stream.read(1):    # … and reading past it raises RequestEntityTooLarge
                flask.abort(413)

    server.before_request_funcs.setdefault(None, []).insert(0, _whole_body)  # before the auth gate reads JSON

    @server.errorhandler(DependencyException)
    def _unknown_script(_exc):  # an unknown /_dash-component-suites/… path
        return answer(404, MESSAGES[404])

    @server.errorhandler(HTTPException)
    def _client_error(exc: HTTPException):
        if exc.code is None or exc.code >= 500:
            return exc
        return answer(exc.code, MESSAGES.get(exc.code, exc.description or "请求无效"))
