"""Accounts, sessions, wall devices and the access log: who may sign in, and as whom they act."""
from __future__ import annotations

import hashlib
import secrets
from contextvars import ContextVar
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, insert, select, update

from ..core.access import Principal, validate_role
from ..models import AccessLog, Area, AuthSession, DepartmentAccount, KioskDevice, LoginAttempt, UserAccount

HASHER = PasswordHasher()  # Argon2id with the library's recommended parameters
_DUMMY_HASH = HASHER.hash("not-a-real-password")  # equal work for unknown accounts
USER_IDLE = timedelta(hours=2)       # a laptop session ends after 2 h without requests …
USER_MAX = timedelta(hours=12)       # … and after 12 h in any case
KIOSK_IDLE = timedelta(days=90)      # a wall device stays signed in while it keeps refreshing
TOUCH_EVERY = timedelta(seconds=60)  # last-seen is written at most once a minute per session
LOCK_WINDOW = timedelta(minutes=15)
MAX_FAILS_PER_USER = 5
MAX_FAILS_PER_IP = 20
MIN_PASSWORD = 10


class AuthError(Exception):
    """A refused sign-in, with a message fit to show the person."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


def digest(token: str) -> str:
    """SHA-256 hex of a secret token (what the database stores instead of the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# The area of the principal acting in this request (its scope root), set by the web layer's gate for
# every request: each access-log row records where its actor sits, so a scoped admin's audit reads by
# place rather than by display names, which are not unique. None outside a request (CLI, scheduler).
ACTOR_AREA: ContextVar[str | None] = ContextVar("actor_area", default=None)


def log_access(conn, actor: str, action: str, now: datetime, target: str | None = None,
               detail: str | None = None, ip: str | None = None, area_path: str | None = None) -> None:
    """Append one entry to the access log (with the acting principal's area unless `area_path` is given)."""
    conn.execute(insert(AccessLog), [{"at": now, "actor": actor[:80], "action": action, "target": target,
                                      "detail": detail, "ip": ip, "area_path": area_path or ACTOR_AREA.get()}])


def _area(conn, code: str | None):
    if code is None:
        return None
    return conn.execute(select(Area.code, Area.level, Area.path).where(Area.code == code)).first()


def create_user(conn, username: str, password: str, role: str, area_code: str | None, now: datetime,
                display_name: str | None = None, staff_id: int | None = None, actor: str = "system") -> int:
    """Create an account (password hashed with Argon2id); raise ValueError on bad input."""
    username = username.strip()
    if not username or len(username) > 60:
        raise ValueError("用户名不能为空且不超过 60 个字符")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 位")
    area = _area(conn, area_code)
    if area_code and area is None:
        raise ValueError(f"未知区域 {area_code}")
    validate_role(role, area.level if area else None)
    if conn.execute(select(UserAccount.id).where(UserAccount.username == username)).first():
        raise ValueError(f"用户名 {username} 已存在")
    uid = conn.execute(insert(UserAccount).returning(UserAccount.id), [{
        "username": username, "display_name": display_name or username, "password_hash": HASHER.hash(password),
        "role": role, "area_code": area_code, "staff_id": staff_id, "active": True, "created_at": now}]).scalar_one()
    log_access(conn, actor, "user_create", now, target=username, detail=f"{role} @ {area_code or '全市'}")
    return uid


def set_password(conn, username: str, password: str, now: datetime, actor: str = "system") -> None:
    """Replace a password and end that person's sessions."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 位")
    uid = conn.execute(update(UserAccount).where(UserAccount.username == username)
                       .values(password_hash=HASHER.hash(password)).returning(UserAccount.id)).scalar()
    if uid is None:
        raise ValueError(f"没有用户 {username}")
    conn.execute(update(AuthSession).where(AuthSession.user_id == uid, AuthSession.revoked_at.is_(None))
                 .values(revoked_at=now))
    log_access(conn, actor, "password_set", now, target=username)


def set_active(conn, username: str, active: bool, now: datetime, actor: str) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    uid = conn.execute(update(UserAccount).where(UserAccount.username == username).values(active=active)
                       .returning(UserAccount.id)).scalar()
    if uid is None:
        raise ValueError(f"没有用户 {username}")
    if not active:
        conn.execute(update(AuthSession).where(AuthSession.user_id == uid, AuthSession.revoked_at.is_(None))
                     .values(revoked_at=now))
    log_access(conn, actor, "user_enable" if active else "user_disable", now, target=username)


def _recent_failures(conn, column, value: str, now: datetime) -> int:
    return conn.execute(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.at >= now - LOCK_WINDOW, LoginAttempt.ok.is_(False))).scalar()


def authenticate(engine, username: str, password: str, ip: str, now: datetime) -> int:
    """Check a sign-in, throttled per account and per address; return the user id or raise AuthError."""
    # Each step commits on its own, so no outcome can roll back the record of an attempt. The attempt is
    # first committed as a failure and counted afterwards: the k-th attempt to commit counts at least k,
    # so however many arrive at once, at most the limit reach the password check.
    username, ip = (username or "").strip()[:60], (ip or "?")[:64]
    with engine.begin() as conn:
        attempt = conn.execute(insert(LoginAttempt).values(username=username, ip=ip, at=now, ok=False)
                               .returning(LoginAttempt.id)).scalar_one()
    with engine.connect() as conn:
        throttled = (_recent_failures(conn, LoginAttempt.username, username, now) > MAX_FAILS_PER_USER
                     or _recent_failures(conn, LoginAttempt.ip, ip, now) > MAX_FAILS_PER_IP)
        row = None if throttled else conn.execute(
            select(UserAccount.id, UserAccount.password_hash, UserAccount.active)
            .where(UserAccount.username == username)).first()
    if throttled:
        with engine.begin() as conn:
            log_access(conn, username or "?", "login_throttled", now, ip=ip)
        raise AuthError(f"尝试次数过多，请 {int(LOCK_WINDOW.total_seconds() // 60)} 分钟后再试", 429)
    try:  # the slow part, outside any transaction
        HASHER.verify(row.password_hash if row else _DUMMY_HASH, password or "")
        ok = row is not None and row.active
    except (VerificationError, InvalidHashError):
        ok = False
    values = {"last_login_at": now}
    if ok and HASHER.check_needs_rehash(row.password_hash):
        values["password_hash"] = HASHER.hash(password)
    with engine.begin() as conn:
        log_access(conn, username or "?", "login" if ok else "login_failed", now, ip=ip)
        if ok:
            conn.execute(update(LoginAttempt).where(LoginAttempt.id == attempt).values(ok=True))
            conn.execute(update(UserAccount).where(UserAccount.id == row.id).values(**values))
    if not ok:
        raise AuthError("用户名或密码错误，或账号已停用")
    return row.id


def open_session(conn, now: datetime, user_id: int | None = None, device_id: int | None = None) -> tuple[str, str]:
    """Start a session for a person or a wall device; return (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    kind = "kiosk" if device_id is not None else "user"
    conn.execute(insert(AuthSession), [{
        "token_sha256": digest(token), "kind": kind, "user_id": user_id, "device_id": device_id,
        "csrf_token": csrf, "created_at": now, "last_seen_at": now,
        "expires_at": now + (KIOSK_IDLE if kind == "kiosk" else USER_MAX)}])
    return token, csrf


def end_session(conn, token: str, now: datetime) -> None:
    """Sign out: the session's cookie stops working everywhere at once."""
    conn.execute(update(AuthSession).where(AuthSession.token_sha256 == digest(token)).values(revoked_at=now))


def _scope_of(conn, area_code: str | None) -> tuple[tuple[str, ...], str | None]:
    if area_code is None:
        return ("/",), None
    area = _area(conn, area_code)
    return ((area.path,), area.code) if area else ((), None)


def resolve_session(conn, token: str | None, now: datetime) -> Principal | None:
    """The principal of a session cookie, or None when it is unknown, expired, revoked or disabled."""
    if not token:
        return None
    s = conn.execute(select(AuthSession.__table__).where(AuthSession.token_sha256 == digest(token))).first()
    if s is None or s.revoked_at is not None or s.expires_at <= now:
        return None
    if s.kind == "user":
        if now - s.last_seen_at > USER_IDLE:
            return None
        u = conn.execute(select(UserAccount.__table__).where(UserAccount.id == s.user_id)).first()
        if u is None or not u.active:
            return None
        scope, home = _scope_of(conn, u.area_code)
        principal = Principal(kind="user", name=u.display_name, role=u.role, scope=scope, home=home,
                              user_id=u.id, staff_id=u.staff_id, session_id=s.id, csrf=s.csrf_token,
                              department=department_of(conn, u.id) if u.role == "department" else None)
    else:
        d = conn.execute(select(KioskDevice.__table__).where(KioskDevice.id == s.device_id)).first()
        if d is None or d.revoked_at is not None:
            return None
        scope, home = _scope_of(conn, d.area_code)
        principal = Principal(kind="kiosk", name=d.name, scope=scope, home=home, device_id=d.id,
                              session_id=s.id, csrf=s.csrf_token, playlist=tuple(d.playlist or ()))
        if now - (d.last_seen_at or datetime.min) > TOUCH_EVERY:
            conn.execute(update(KioskDevice).where(KioskDevice.id == d.id).values(last_seen_at=now))
    if now - s.last_seen_at > TOUCH_EVERY:
        values = {"last_seen_at": now}
        if s.kind == "kiosk":  # sliding: a wall that keeps refreshing never has to sign in again
            values["expires_at"] = now + KIOSK_IDLE
        conn.execute(update(AuthSession).where(AuthSession.id == s.id).values(**values))
    return principal


def create_device(conn, name: str, area_code: str, now: datetime, actor: str,
                  playlist: list | None = None) -> str:
    """Register a wall display for an area; return its device token (shown once, stored hashed)."""
    if _area(conn, area_code) is None:
        raise ValueError(f"未知区域 {area_code}")
    token = secrets.token_urlsafe(32)
    conn.execute(insert(KioskDevice), [{"name": name, "token_sha256": digest(token), "area_code": area_code,
                                        "playlist": validate_playlist(playlist or []), "created_by": actor,
                                        "created_at": now}])
    log_access(conn, actor, "device_create", now, target=name, detail=area_code)
    return token


def validate_playlist(playlist: list) -> list:
    """Check a wall playlist: a list of {"view": "#area=…", "seconds": ≥10}; return it cleaned."""
    clean = []
    for item in playlist:
        view, seconds = str(item.get("view", "")), int(item.get("seconds", 60))
        if not view.startswith("#") or seconds < 10:
            raise ValueError(f"轮播项无效：{item!r}（view 以 # 开头，seconds ≥ 10）")
        clean.append({"view": view, "seconds": seconds})
    return clean


def rotate_device(conn, name: str, now: datetime, actor: str) -> str:
    """Issue a new device token (the old link stops opening new walls; running walls keep working)."""
    token = secrets.token_urlsafe(32)
    done = conn.execute(update(KioskDevice).where(KioskDevice.name == name, KioskDevice.revoked_at.is_(None))
                        .values(token_sha256=digest(token), rotated_at=now).returning(KioskDevice.id)).scalar()
    if done is None:
        raise ValueError(f"没有可用的设备 {name}")
    log_access(conn, actor, "device_rotate", now, target=name)
    return token


def revoke_device(conn, name: str, now: datetime, actor: str) -> None:
    """Revoke a wall device: its link and every wall signed in with it stop at the next refresh."""
    done = conn.execute(update(KioskDevice).where(KioskDevice.name == name).values(revoked_at=now)
                        .returning(KioskDevice.id)).scalar()
    if done is None:
        raise ValueError(f"没有设备 {name}")
    log_access(conn, actor, "device_revoke", now, target=name)


def device_by_token(conn, token: str) -> int | None:
    """Id of the live device a kiosk link's token belongs to, or None."""
    return conn.execute(select(KioskDevice.id).where(KioskDevice.token_sha256 == digest(token or ""),
                                                     KioskDevice.revoked_at.is_(None))).scalar()


def department_of(conn, user_id: int) -> str | None:
    """The department code a `department` account speaks for (None when it has none)."""
    return conn.execute(select(DepartmentAccount.department_code)
                        .where(DepartmentAccount.user_id == user_id)).scalar()


def session_kind(conn, token: str | None) -> str | None:
    """The kind ("user" or "kiosk") of the session a cookie token names — also when it is revoked or
    expired — or None when no session has that token."""
    return conn.execute(select(AuthSession.kind).where(AuthSession.token_sha256 == digest(token or ""))).scalar()


def kiosk_device(conn, device_id: int):
    """The kiosk_device row of a wall device (name, area, playlist …); raises when there is none."""
    return conn.execute(select(KioskDevice.__table__).where(KioskDevice.id == device_id)).one()
