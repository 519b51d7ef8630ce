"""HTTP security headers on every response: CSP, no-sniff, referrer policy, no framing."""
from __future__ import annotations

from urllib.parse import urlsplit

import dash


def content_security_policy(app: dash.Dash, tile_url: str | None = None) -> str:
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
        "frame-ancestors 'none'",
    ])


def install_security_headers(app: dash.Dash, tile_url: str | None = None) -> None:
    """Add the security headers to every response of the app's server."""
    policy = {"value": None}

    @app.server.after_request
    def _headers(resp):
        if policy["value"] is None:  # hashes are known once the index page exists
            policy["value"] = content_security_policy(app, tile_url)
        resp.headers.setdefault("Content-Security-Policy", policy["value"])
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp
