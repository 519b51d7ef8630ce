"""The admin console's operations on people, wall displays and API clients, scoped to the admin's subtree.

Each operation takes the acting Principal: a sub-district (or community) admin reaches only accounts,
devices and clients anchored inside its scope; city-wide ones (no area) only a city-wide admin. The
pages call these; every change is written to the access log and to admin_change with before/after.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import func, insert, select, update

from ..core.access import ROLES, Principal, scope_condition
from .accounts import (create_device, create_user, digest, log_access, revoke_device, rotate_device, set_active,
                       set_password, validate_playlist)
from ..models import AdminChange, ApiClientUse, PasswordReset
from .api_clients import SCOPES
from ..models import ApiClient, Area, AuthSession, KioskDevice, UserAccount

RESET_LIFE = timedelta(hours=24)   # a one-time password link lives this long
RESET_PREFIX = "/reset/"
ROOT = "/"


class AdminError(ValueError):
    """A refused admin action, with a message fit to show the admin (Chinese)."""


def record_change(conn, actor: str, action: str, target: str, area_path: str | None, before, after,
                  now: datetime) -> None:
    """Append one admin change with its before/after state."""
    conn.execute(insert(AdminChange), [{"at": now, "actor": actor[:80], "action": action, "target": str(target)[:120],
                                        "area_path": area_path or ROOT, "before": before, "after": after}])


def is_root(p: Principal) -> bool:
    """True for a city-wide admin (may manage things that have no area)."""
    return ROOT in p.scope


def _path(conn, code: str | None) -> str | None:
    """Area path of a code; ROOT for None; None when the code is unknown."""
    if not code:
        return ROOT
    return conn.execute(select(Area.path).where(Area.code == code)).scalar()


def _need_area(conn, p: Principal, code: str | None) -> str:
    """The path of an area the admin may manage (refuses unknown and foreign ones)."""
    path = _path(conn, code)
    if path is None or (path == ROOT and not is_root(p)) or (path != ROOT and not p.covers(path)):
        raise AdminError(f"区域 {code or '全市'} 不存在或不在您的管理范围内")
    return path


def _visible(p: Principal, column, code_column):
    """Rows anchored in the admin's subtree (city-wide rows only for a city-wide admin)."""
    inside = scope_condition(p, column)
    return inside | code_column.is_(None) if is_root(p) else inside


# ---- people -------------------------------------------------------------------------------------

def list_people(conn, p: Principal, text: str | None = None) -> list[dict]:
    """Accounts the admin may manage, with role, area, state, last sign-in and open sessions."""
    sessions = (select(AuthSession.user_id, func.count().label("n")).where(AuthSession.revoked_at.is_(None))
                .group_by(AuthSession.user_id).subquery())
    q = (select(UserAccount.id, UserAccount.username, UserAccount.display_name, UserAccount.role,
                UserAccount.area_code, UserAccount.active, UserAccount.last_login_at, Area.name.label("area_name"),
                func.coalesce(sessions.c.n, 0).label("sessions"))
         .outerjoin(Area, Area.code == UserAccount.area_code).outerjoin(sessions, sessions.c.user_id == UserAccount.id)
         .where(_visible(p, Area.path, UserAccount.area_code)).order_by(UserAccount.username))
    if text:
        q = q.where(UserAccount.username.contains(text) | UserAccount.display_name.contains(text))
    return [dict(r._mapping, role_label=ROLES.get(r.role, {}).get("label", r.role)) for r in conn.execute(q)]


def _person(conn, p: Principal, user_id) -> tuple:
    row = conn.execute(select(UserAccount.id, UserAccount.username, UserAccount.active, UserAccount.role,
                              UserAccount.area_code).where(UserAccount.id == int(user_id))).first()
    if row is None:
        raise AdminError("没有此账号或不在您的管理范围内")
    try:
        path = _need_area(conn, p, row.area_code)
    except AdminError:
        raise AdminError("没有此账号或不在您的管理范围内") from None
    return row, path


# Roles whose account must be bound to a record the console cannot pick yet: without it the account can do
# nothing (a department account answers for one department; a grid worker's tasks come from its staff row).
BOUND_ROLES = {
    "department": "部门账号须绑定职能部门，请用命令行创建：python app.py user 用户名 --role department "
                  "--department 部门代码 --area 区域代码",
    "grid_worker": "网格员账号须绑定网格员档案（任务、走访、表单都按档案派发），此处暂不能创建",
}


def create_person(conn, p: Principal, username: str, display_name: str, role: str, area_code: str | None,
                  now: datetime) -> str:
    """Create an account inside the admin's subtree; return a one-time link where the person sets a password."""
    if role in BOUND_ROLES:
        raise AdminError(BOUND_ROLES[role])
    path = _need_area(conn, p, area_code or None)
    try:
        uid = create_user(conn, username or "", secrets.token_urlsafe(24), role or "", area_code or None, now,
                          display_name=(display_name or "").strip() or None, actor=p.name)
    except ValueError as exc:
        raise AdminError(str(exc)) from None
    record_change(conn, p.name, "user_create", username.strip(), path, None,
                  {"role": role, "area": area_code, "active": True}, now)
    return _issue_link(conn, p, uid, username.strip(), path, now)


def set_person_active(conn, p: Principal, user_id, active: bool, now: datetime) -> str:
    """Enable or disable an account (disabling ends its open sessions at once); return its username."""
    row, path = _person(conn, p, user_id)
    if row.id == p.user_id and not active:
        raise AdminError("不能停用自己的账号")
    set_active(conn, row.username, active, now, p.name)
    record_change(conn, p.name, "user_enable" if active else "user_disable", row.username, path,
                  {"active": row.active}, {"active": active}, now)
    return row.username


def issue_reset_link(conn, p: Principal, user_id, now: datetime) -> str:
    """A one-time password link for an account (earlier unused links stop working); the raw path, shown once."""
    row, path = _person(conn, p, user_id)
    return _issue_link(conn, p, row.id, row.username, path, now)


def _issue_link(conn, p: Principal, uid: int, username: str, path: str, now: datetime) -> str:
    conn.execute(update(PasswordReset).where(PasswordReset.user_id == uid, PasswordReset.used_at.is_(None),
                                             PasswordReset.expires_at > now).values(expires_at=now))
    token = secrets.token_urlsafe(32)
    expires = now + RESET_LIFE
    conn.execute(insert(PasswordReset), [{"token_sha256": digest(token), "user_id": uid, "created_by": p.name[:80],
                                          "created_at": now, "expires_at": expires}])
    log_access(conn, p.name, "password_link", now, target=username, detail=f"有效至 {expires:%Y-%m-%d %H:%M} UTC")
    record_change(conn, p.name, "password_link", username, path, None, {"expires_at": expires.isoformat()}, now)
    return RESET_PREFIX + token


def reset_link_user(conn, token: str, now: datetime) -> str | None:
    """The username a live one-time link belongs to, or None (unknown, used, expired or account disabled)."""
    return conn.execute(select(UserAccount.username).join(PasswordReset, PasswordReset.user_id == UserAccount.id)
                        .where(PasswordReset.token_sha256 == digest(token or ""), PasswordReset.used_at.is_(None),
                               PasswordReset.expires_at > now, UserAccount.active.is_(True))).scalar()


def use_reset_link(conn, token: str, password: str, repeat: str, now: datetime, ip: str = "?") -> str:
    """Set a new password through a one-time link (which is then spent); return the username."""
    username = reset_link_user(conn, token, now)
    if username is None:
        raise AdminError("链接无效、已使用或已过期，请联系管理员重新发放")
    if password != repeat:
        raise AdminError("两次输入的密码不一致")
    set_password(conn, username, password, now, actor=username)  # ValueError for a short one; ends sessions
    conn.execute(update(PasswordReset).where(PasswordReset.token_sha256 == digest(token)).values(used_at=now))
    log_access(conn, username, "password_link_used", now, target=username, ip=ip)
    return username


# ---- wall displays ------------------------------------------------------------------------------

def list_devices(conn, p: Principal) -> list[dict]:
    """Wall displays in the admin's subtree: area, playlist, created, rotated, revoked, last seen."""
    q = (select(KioskDevice.id, KioskDevice.name, KioskDevice.area_code, KioskDevice.playlist, KioskDevice.created_at,
                KioskDevice.rotated_at, KioskDevice.revoked_at, KioskDevice.last_seen_at, Area.name.label("area_name"))
         .join(Area, Area.code == KioskDevice.area_code).where(scope_condition(p, Area.path)).order_by(KioskDevice.name))
    return [dict(r._mapping) for r in conn.execute(q)]


def _device(conn, p: Principal, device_id):
    row = conn.execute(select(KioskDevice.id, KioskDevice.name, KioskDevice.area_code, KioskDevice.playlist,
                              KioskDevice.revoked_at, Area.path).join(Area, Area.code == KioskDevice.area_code)
                       .where(KioskDevice.id == int(device_id))).first()
    if row is None or not p.covers(row.path):
        raise AdminError("没有此设备或不在您的管理范围内")
    return row


def parse_playlist(conn, text, device_path: str) -> list:
    """A playlist from the editor's JSON text, validated like the CLI's, with every area inside the device's."""
    try:
        items = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as exc:
        raise AdminError(f"轮播列表不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise AdminError('轮播列表应为 [{"view": "#area=…", "seconds": 60}, …]')
    try:
        clean = validate_playlist(items)
    except (TypeError, ValueError) as exc:
        raise AdminError(str(exc) if "轮播项" in str(exc) else f"轮播项无效：{exc}") from None
    for item in clean:
        for key, code in parse_qsl(item["view"].lstrip("#")):
            if key == "area":
                path = _path(conn, code)
                if path in (None, ROOT) or not path.startswith(device_path):
                    raise AdminError(f"轮播项 {item['view']}：区域 {code} 不存在或不在该大屏的区域内")
    return clean


def register_device(conn, p: Principal, name: str, area_code: str, playlist_text, now: datetime) -> str:
    """Register a wall display in the admin's subtree; return its /kiosk/… link (shown once)."""
    path = _need_area(conn, p, area_code)
    if path == ROOT:
        raise AdminError("大屏设备需要绑定区域")
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise AdminError("设备名称不能为空且不超过 60 个字符")
    if conn.execute(select(KioskDevice.id).where(KioskDevice.name == name)).first():
        raise AdminError(f"设备名称 {name} 已存在")
    playlist = parse_playlist(conn, playlist_text or "[]", path)
    token = create_device(conn, name, area_code, now, p.name, playlist)
    record_change(conn, p.name, "device_create", name, path, None, {"area": area_code, "playlist": playlist}, now)
    return f"/kiosk/{token}"


def save_playlist(conn, p: Principal, device_id, playlist_text, now: datetime) -> list:
    """Replace a wall's playlist (the running wall takes it at its next refresh); return it cleaned."""
    row = _device(conn, p, device_id)
    playlist = parse_playlist(conn, playlist_text, row.path)
    conn.execute(update(KioskDevice).where(KioskDevice.id == row.id).values(playlist=playlist))
    log_access(conn, p.name, "device_playlist", now, target=row.name, detail=json.dumps(playlist, ensure_ascii=False)[:500])
    record_change(conn, p.name, "device_playlist", row.name, row.path, {"playlist": row.playlist or []},
                  {"playlist": playlist}, now)
    return playlist


def rotate_wall(conn, p: Principal, device_id, now: datetime) -> str:
    """A new link for a wall: the old link is refused from now on; walls already signed in keep running."""
    row = _device(conn, p, device_id)
    try:
        token = rotate_device(conn, row.name, now, p.name)
    except ValueError as exc:  # revoked meanwhile (another admin, a stale table): say so, do not fail
        raise AdminError(f"大屏 {row.name} 已停用，不能换发链接") from exc
    record_change(conn, p.name, "device_rotate", row.name, row.path, {"link": "旧链接"}, {"link": "新链接"}, now)
    return f"/kiosk/{token}"


def revoke_wall(conn, p: Principal, device_id, now: datetime) -> str:
    """Stop a wall: its link and every screen signed in with it stop at the next request."""
    row = _device(conn, p, device_id)
    revoke_device(conn, row.name, now, p.name)
    conn.execute(update(AuthSession).where(AuthSession.device_id == row.id, AuthSession.revoked_at.is_(None))
                 .values(revoked_at=now))
    record_change(conn, p.name, "device_revoke", row.name, row.path, {"revoked": row.revoked_at is not None},
                  {"revoked": True}, now)
    return row.name


# ---- API clients (push and portal embed) --------------------------------------------------------

def list_clients(conn, p: Principal) -> list[dict]:
    """API clients in the admin's subtree (push clients are city-wide): scopes, area, created, revoked, last used."""
    q = (select(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.area_code, ApiClient.created_at,
                ApiClient.revoked_at, ApiClientUse.last_used_at, Area.name.label("area_name"))
         .outerjoin(Area, Area.code == ApiClient.area_code).outerjoin(ApiClientUse, ApiClientUse.client_id == ApiClient.id)
         .where(_visible(p, Area.path, ApiClient.area_code)).order_by(ApiClient.name))
    return [dict(r._mapping) for r in conn.execute(q)]


def _client(conn, p: Principal, client_id):
    row = conn.execute(select(ApiClient.id, ApiClient.name, ApiClient.scopes, ApiClient.area_code,
                              ApiClient.revoked_at).where(ApiClient.id == int(client_id))).first()
    if row is None:
        raise AdminError("没有此接入方或不在您的管理范围内")
    try:
        return row, _need_area(conn, p, row.area_code)
    except AdminError:
        raise AdminError("没有此接入方或不在您的管理范围内") from None


def create_api_client(conn, p: Principal, name: str, scopes, area_code: str | None, now: datetime) -> str:
    """Register a push and/or embed client; return its bearer token (shown once, stored as SHA-256)."""
    scopes = sorted(set(scopes or []))
    if not scopes or set(scopes) - set(SCOPES):
        raise AdminError("请选择权限：push（推送事件）和/或 embed（门户嵌入）")
    if "embed" in scopes and not area_code:
        raise AdminError("门户嵌入（embed）接入方需要绑定区域")
    if "push" in scopes and not is_root(p):
        raise AdminError("推送事件（push）接入方对全市生效，只有全市管理员可以创建")
    path = _need_area(conn, p, area_code or None)
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise AdminError("接入方名称不能为空且不超过 60 个字符")
    if conn.execute(select(ApiClient.id).where(ApiClient.name == name)).first():
        raise AdminError(f"接入方 {name} 已存在")
    token = secrets.token_urlsafe(32)
    conn.execute(insert(ApiClient), [{"name": name, "token_sha256": digest(token), "created_at": now,
                                      "scopes": " ".join(scopes), "area_code": area_code or None}])
    log_access(conn, p.name, "client_create", now, target=name, detail=f"{' '.join(scopes)} @ {area_code or '全市'}")
    record_change(conn, p.name, "client_create", name, path, None, {"scopes": scopes, "area": area_code}, now)
    return token


def rotate_api_client(conn, p: Principal, client_id, now: datetime) -> str:
    """A new token for a client, same scopes and area; the old token is refused at once."""
    row, path = _client(conn, p, client_id)
    if row.revoked_at is not None:
        raise AdminError(f"接入方 {row.name} 已停用，不能换发令牌")
    token = secrets.token_urlsafe(32)
    conn.execute(update(ApiClient).where(ApiClient.id == row.id).values(token_sha256=digest(token)))
    log_access(conn, p.name, "client_rotate", now, target=row.name)
    record_change(conn, p.name, "client_rotate", row.name, path, {"token": "旧令牌"}, {"token": "新令牌"}, now)
    return token


def revoke_api_client(conn, p: Principal, client_id, now: datetime) -> str:
    """Stop a client: its token is refused from the next request."""
    row, path = _client(conn, p, client_id)
    conn.execute(update(ApiClient).where(ApiClient.id == row.id).values(revoked_at=now))
    log_access(conn, p.name, "client_revoke", now, target=row.name)
    record_change(conn, p.name, "client_revoke", row.name, path, {"revoked": row.revoked_at is not None},
                  {"revoked": True}, now)
    return row.name



# ---- the CLI's changes land in the same trail -----------------------------------------------------

def cli_state(conn, kind: str, name: str) -> tuple[str, dict | None]:
    """(area path, state) of an account ("user") or wall ("device") by name, as the trail records it."""
    model = UserAccount if kind == "user" else KioskDevice
    key = UserAccount.username if kind == "user" else KioskDevice.name
    cols = (model.area_code, UserAccount.active, UserAccount.role) if kind == "user" else \
        (model.area_code, KioskDevice.revoked_at)
    row = conn.execute(select(*cols).where(key == name)).first()
    if row is None:
        return ROOT, None
    path = _path(conn, row.area_code) or ROOT
    state = {"active": row.active, "role": row.role, "area": row.area_code} if kind == "user" else \
        {"area": row.area_code, "revoked": row.revoked_at is not None}
    return path, state


def record_cli(conn, actor: str, action: str, kind: str, name: str, before: dict | None, now: datetime) -> None:
    """Record a CLI change (state before, as read by cli_state, and after) in admin_change."""
    path, after = cli_state(conn, kind, name)
    record_change(conn, actor, action, name, path, before, after, now)
