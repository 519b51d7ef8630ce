"""Signed, short-lived embed tokens for portal iframes: an area subtree, some panels, read-only.

A portal's backend mints a token (this module, or POST /api/v1/embed-tokens) and puts
`/embed?token=…` in its iframe. The token is checked on every request (no cookies involved), and
renewed while the iframe stays open, up to MAX_CHAIN after it was first minted.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer

from .access import PANELS

SALT = "embed-token-v1"
DEFAULT_TTL = timedelta(minutes=10)
MAX_TTL = timedelta(hours=1)
MAX_CHAIN = timedelta(hours=12)   # an open iframe keeps renewing its token for at most this long


class EmbedTokenError(ValueError):
    """A token that must not open the embed view, with the reason."""


def _ts(when: datetime) -> int:
    return int(when.replace(tzinfo=timezone.utc).timestamp())


def mint_embed_token(secret: str, area_code: str, now: datetime, panels=tuple(PANELS),
                     ttl: timedelta = DEFAULT_TTL, portal: str = "", origin_at: datetime | None = None) -> str:
    """A signed token opening the embed view of `area_code` with `panels`, valid for `ttl` from `now`."""
    panels = list(dict.fromkeys(panels))
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise EmbedTokenError(f"未知面板 {unknown}（可选：{', '.join(PANELS)}）" if unknown else "至少选择一个面板")
    if not timedelta(seconds=30) <= ttl <= MAX_TTL:
        raise EmbedTokenError(f"有效期须在 30 秒到 {int(MAX_TTL.total_seconds() // 60)} 分钟之间")
    payload = {"a": area_code, "p": panels, "iss": portal[:60], "iat": _ts(now), "exp": _ts(now + ttl),
               "o": _ts(origin_at or now)}
    return URLSafeSerializer(secret, salt=SALT).dumps(payload)


def read_embed_token(secret: str, token: str, now: datetime) -> dict:
    """The payload of a valid, unexpired token; raise EmbedTokenError for forged or expired ones."""
    try:
        payload = URLSafeSerializer(secret, salt=SALT).loads(token or "")
    except BadSignature:
        raise EmbedTokenError("嵌入令牌签名无效") from None
    if not isinstance(payload, dict) or not {"a", "p", "exp", "iat", "o"} <= payload.keys():
        raise EmbedTokenError("嵌入令牌格式无效")
    if payload["exp"] <= _ts(now):
        raise EmbedTokenError("嵌入令牌已过期")
    if any(p not in PANELS for p in payload["p"]):
        raise EmbedTokenError("嵌入令牌包含未知面板")
    return payload


def renewed(secret: str, payload: dict, now: datetime) -> str | None:
    """A fresh token with the same scope when the current one is past half its life (None otherwise)."""
    ttl = payload["exp"] - payload["iat"]
    if _ts(now) < payload["iat"] + ttl / 2:
        return None
    origin = datetime.fromtimestamp(payload["o"], tz=timezone.utc).replace(tzinfo=None)
    if now - origin >= MAX_CHAIN:
        return None
    return mint_embed_token(secret, payload["a"], now, payload["p"], timedelta(seconds=ttl),
                            payload.get("iss", ""), origin)
