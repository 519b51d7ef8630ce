"""API clients: systems that push events ("push") or mint portal embed tokens ("embed") with a bearer token.

The one place clients are created, rotated and looked up: the push intake, the embed-token endpoint
and the `python app.py token` command all go through here. Tokens are stored as SHA-256 only.
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, insert, select

from .accounts import digest
from ..models import ApiClient
from ..core.timeutil import utcnow

SCOPES = ("push", "embed")
# What each scope lets a client do, in the words the admin console shows.
SCOPE_LABELS = {"push": "推送事件（POST /api/v1/events）", "embed": "门户嵌入（签发 /embed 令牌）"}


def create_client(engine, name: str, scopes: str = "push", area_code: str | None = None) -> str:
    """Register a system ("push" events and/or mint "embed" tokens for `area_code`); return its token once."""
    scopes = " ".join(sorted(set(scopes.replace(",", " ").split())))
    if not scopes or set(scopes.split()) - set(SCOPES):
        raise ValueError("scopes must be push and/or embed")
    if "embed" in scopes and not area_code:
        raise ValueError("an embed client needs the area code it may mint tokens for")
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(insert(ApiClient), [{"name": name, "token_sha256": digest(token),
                                          "created_at": utcnow(), "scopes": scopes, "area_code": area_code}])
    return token


def rotate_client(engine, name: str) -> str:
    """Revoke every token of `name` and issue a fresh push token (used by the demo simulator)."""
    with engine.begin() as conn:
        conn.execute(delete(ApiClient).where(ApiClient.name == name))
    return create_client(engine, name)


def client_for_bearer(conn, header: str | None, scope: str):
    """The live client (its api_client row) whose token an `Authorization: Bearer …` header carries,
    if it holds `scope`; None otherwise. Notes its last use (call it inside a transaction that commits)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown API client scope {scope!r}")
    header = header or ""
    if not header.startswith("Bearer "):
        return None
    row = conn.execute(select(ApiClient.__table__).where(
        ApiClient.token_sha256 == digest(header.removeprefix("Bearer ").strip()),
        ApiClient.revoked_at.is_(None))).first()
    if row is None or scope not in (row.scopes or "").split():
        return None
    _touch(conn, row.id, utcnow())
    return row


def _touch(conn, client_id: int, now) -> None:
    """Note when a client's token was last used (at most once a minute; shown in the admin console)."""
    from datetime import timedelta

    from sqlalchemy import update

    from ..models import ApiClientUse

    last = conn.execute(select(ApiClientUse.last_used_at).where(ApiClientUse.client_id == client_id)).scalar()
    if last is None:
        conn.execute(insert(ApiClientUse), [{"client_id": client_id, "last_used_at": now}])
    elif now - last > timedelta(seconds=60):
        conn.execute(update(ApiClientUse).where(ApiClientUse.client_id == client_id).values(last_used_at=now))


def embed_area_allowed(conn, client, area: str) -> bool:
    """True when an embed client (its api_client row) may mint a token for area `area`: the area exists
    and lies inside the client's own area subtree (a client without an area may embed nothing)."""
    from ..models import Area

    paths = dict(conn.execute(select(Area.code, Area.path).where(
        Area.code.in_([area, client.area_code or ""]))).all())
    return area in paths and bool(client.area_code) and paths[area].startswith(paths.get(client.area_code, "\0"))
