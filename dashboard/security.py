"""HTTP security headers on every response: CSP, no-sniff, referrer policy, no framing."""
from __future__ import annotations

from urllib.parse import urlsplit

import dash
from flask import request


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
        return resp
