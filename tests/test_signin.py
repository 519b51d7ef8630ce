"""Sign-in security over real HTTP: throttling under concurrent guessing, login CSRF, open redirects, account CLI.

The shared live server's clock stands still at WORLD_NOW, so every attempt of the session stays in the
throttling window. These tests therefore guess at fresh accounts and send from their own loopback
addresses (127.0.x.y): 127.0.0.1, which other tests sign in from, is never throttled by them.
"""
from __future__ import annotations

import io
import itertools
import re
import threading
import uuid
from datetime import timedelta

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import func, select

from governance.accounts.accounts import (MAX_FAILS_PER_IP, MAX_FAILS_PER_USER, AuthError, authenticate, create_user,
                                 open_session, resolve_session)
from governance.models import AccessLog, AuthSession, LoginAttempt, UserAccount

from .conftest import TEST_PASSWORD, WORLD_NOW

_hosts = itertools.count(1)


class _FromAddress(HTTPAdapter):
    """Connect from a given loopback address, so the server sees a distinct client."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str | None = None) -> requests.Session:
    """A browser-like session from its own loopback address (a fresh one unless given)."""
    if address is None:
        n = next(_hosts)
        address = f"127.0.{20 + n // 250}.{n % 250 + 2}"
    s = requests.Session()
    s.mount("http://", _FromAddress(address))
    s.address = address
    return s


def form_token(s: requests.Session, base: str, query: str = "") -> str:
    """Open the sign-in form (which sets the browser's nonce cookie) and return its token."""
    page = s.get(f"{base}/login{query}")
    assert page.status_code == 200
    return re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)


def sign_in(s, base, username, password, token=None, **extra):
    data = {"form_token": token or form_token(s, base), "username": username, "password": password, **extra}
    return s.post(base + "/login", data=data, allow_redirects=False)


def fresh_user(engine, area: str | None = None) -> tuple[str, int]:
    name = f"signin-{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        uid = create_user(conn, name, TEST_PASSWORD, "viewer", area, WORLD_NOW)
    return name, uid


def concurrently(n: int, work) -> list:
    """Run work(i) in n threads released together; return the results in order."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def recorded(engine, username=None, ip=None) -> tuple[list[bool], list[str]]:
    """The committed login_attempt outcomes and access_log actions of an account or an address."""
    att, log = select(LoginAttempt.ok), select(AccessLog.action).where(AccessLog.action.like("login%"))
    if username:
        att, log = att.where(LoginAttempt.username == username), log.where(AccessLog.actor == username)
    if ip:
        att, log = att.where(LoginAttempt.ip == ip), log.where(AccessLog.ip == ip)
    with engine.connect() as conn:
        return conn.execute(att).scalars().all(), conn.execute(log).scalars().all()


@pytest.fixture(scope="module")
def account(world_engine):
    """A fresh account for sign-ins that should succeed."""
    return fresh_user(world_engine, world_engine.accounts["focus"])[0]


def test_a_failed_sign_in_stays_recorded(world_engine, live_server):
    name, _ = fresh_user(world_engine)
    s = client()
    resp = sign_in(s, live_server, name, "wrong-password-1")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.text
    oks, actions = recorded(world_engine, username=name)  # read after the request, on another connection
    assert oks == [False] and actions == ["login_failed"]
    assert recorded(world_engine, ip=s.address)[0] == [False]


def test_concurrent_guesses_at_one_account_check_at_most_the_limit(world_engine, live_server):
    name, uid = fresh_user(world_engine)
    n = 30
    sessions = [client() for _ in range(n)]  # every guess from its own address: only the account limit applies
    tokens = [form_token(s, live_server) for s in sessions]
    statuses = concurrently(n, lambda i: sign_in(sessions[i], live_server, name, f"guess-{i:04d}-wrong",
                                                 tokens[i]).status_code)
    checked, throttled = statuses.count(401), statuses.count(429)
    assert checked + throttled == n, statuses
    assert checked <= MAX_FAILS_PER_USER and throttled >= n - MAX_FAILS_PER_USER
    oks, actions = recorded(world_engine, username=name)
    assert oks == [False] * n  # every guess left a committed row and a log entry
    assert actions.count("login_failed") == checked and actions.count("login_throttled") == throttled

    # The right password, sent among more concurrent guesses now that the limit is reached, does not get in.
    tokens = [form_token(s, live_server) for s in sessions[:10]]
    later = concurrently(10, lambda i: sign_in(sessions[i], live_server, name,
                                               TEST_PASSWORD if i == 5 else f"late-{i}-wrong", tokens[i]))
    assert [r.status_code for r in later] == [429] * 10
    assert "尝试次数过多" in later[5].text and "gc_session" not in later[5].cookies
    with world_engine.connect() as conn:
        sessions_opened = select(func.count()).select_from(AuthSession).where(AuthSession.user_id == uid)
        assert conn.execute(sessions_opened).scalar() == 0
    oks, actions = recorded(world_engine, username=name)
    assert len(oks) == n + 10 and "login" not in actions and actions.count("login_throttled") == throttled + 10


def test_concurrent_guesses_from_one_address_check_at_most_the_limit(engine):
    ip, n = "10.9.9.9", 30

    def guess(i):
        try:
            authenticate(engine, f"nobody-{i}", "wrong-password", ip, WORLD_NOW)
        except AuthError as exc:
            return exc.status
        return 200

    statuses = concurrently(n, guess)
    checked, throttled = statuses.count(401), statuses.count(429)
    assert checked + throttled == n and checked <= MAX_FAILS_PER_IP and throttled >= n - MAX_FAILS_PER_IP, statuses
    oks, actions = recorded(engine, ip=ip)
    assert oks == [False] * n
    assert actions.count("login_failed") == checked and actions.count("login_throttled") == throttled
    with pytest.raises(AuthError) as exc:  # the address stays blocked, even with a right password …
        authenticate(engine, "leader", TEST_PASSWORD, ip, WORLD_NOW)
    assert exc.value.status == 429
    assert authenticate(engine, "leader", TEST_PASSWORD, "10.9.9.10", WORLD_NOW)  # … the account does not
    assert authenticate(engine, "leader", TEST_PASSWORD, ip, WORLD_NOW + timedelta(minutes=16))  # nor after the window


def test_sign_in_form_is_bound_to_the_browser_and_the_site(world_engine, live_server, account):
    attacker, victim = client(), client()
    attacker_token = form_token(attacker, live_server)
    form_token(victim, live_server)
    nonce = victim.cookies["gc_login_nonce"]
    for s in (victim, client()):  # another browser's token: with a different nonce cookie, or none
        resp = sign_in(s, live_server, account, TEST_PASSWORD, attacker_token)
        assert resp.status_code == 400 and "表单已过期" in resp.text and "gc_session" not in resp.cookies

    token = form_token(victim, live_server)
    assert victim.cookies["gc_login_nonce"] == nonce  # one nonce per browser: open forms stay valid
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = victim.post(live_server + "/login", headers=headers, allow_redirects=False,
                           data={"form_token": token, "username": account, "password": TEST_PASSWORD})
        assert resp.status_code == 403 and "gc_session" not in resp.cookies, headers

    resp = victim.post(live_server + "/login", headers={"Origin": live_server, "Sec-Fetch-Site": "same-origin"},
                       data={"form_token": token, "username": account, "password": TEST_PASSWORD},
                       allow_redirects=False)
    assert resp.status_code == 302 and resp.cookies.get("gc_session")
    cookie = next(h for h in resp.raw.headers.getlist("Set-Cookie") if h.startswith("gc_login_nonce="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/login" in cookie
    assert victim.cookies["gc_login_nonce"] != nonce  # rotated: forms issued before the sign-in are dead
    del victim.cookies["gc_session"], victim.cookies["_csrf_token"]
    assert sign_in(victim, live_server, account, TEST_PASSWORD, token).status_code == 400


@pytest.mark.parametrize("nxt", ["/\t/evil.example/", "//evil.example", "/\\evil", "/\r\nSet-Cookie:x", " /events",
                                 "/events\x7f", "/\u2028//evil.example", "https://evil.example/", "evil.example"])
def test_sign_in_never_redirects_off_site(live_server, account, nxt):
    resp = sign_in(client(), live_server, account, TEST_PASSWORD, next=nxt)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("query", ["/%09/evil.example/", "//evil.example", "/%5Cevil", "/%0d%0aSet-Cookie:x"])
def test_next_from_the_address_bar_is_made_safe(live_server, account, query):
    s = client()
    page = s.get(f"{live_server}/login?next={query}")
    assert page.status_code == 200 and 'name="next" value="/"' in page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    nxt = re.search(r'name="next" value="([^"]*)"', page.text).group(1)
    resp = sign_in(s, live_server, account, TEST_PASSWORD, token, next=nxt)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_sign_in_returns_to_a_page_on_this_site(live_server, account):
    resp = sign_in(client(), live_server, account, TEST_PASSWORD, next="/events?area=510107")
    assert resp.status_code == 302 and resp.headers["Location"] == "/events?area=510107"


def test_cli_disables_enables_and_resets_accounts(engine, monkeypatch, capsys):
    from app import main

    url = ["--database-url", engine.url.render_as_string(hide_password=False)]
    name, uid = fresh_user(engine)
    with engine.begin() as conn:
        token, _ = open_session(conn, WORLD_NOW, user_id=uid)
        assert resolve_session(conn, token, WORLD_NOW) is not None

    assert main(["user", name, "--disable", *url]) == 0
    with engine.begin() as conn:
        assert resolve_session(conn, token, WORLD_NOW) is None
        assert conn.execute(select(AuthSession.revoked_at).where(AuthSession.user_id == uid)).scalar() is not None
    with pytest.raises(AuthError):
        authenticate(engine, name, TEST_PASSWORD, "10.1.0.1", WORLD_NOW)

    assert main(["user", name, "--enable", *url]) == 0
    assert authenticate(engine, name, TEST_PASSWORD, "10.1.0.2", WORLD_NOW) == uid
    with engine.begin() as conn:
        assert resolve_session(conn, token, WORLD_NOW) is None  # the ended session stays ended

    monkeypatch.setattr("sys.stdin", io.StringIO("a-brand-new-password\n"))
    assert main(["user", name, "--reset-password", "--password-stdin", *url]) == 0
    with pytest.raises(AuthError):
        authenticate(engine, name, TEST_PASSWORD, "10.1.0.3", WORLD_NOW)
    assert authenticate(engine, name, "a-brand-new-password", "10.1.0.4", WORLD_NOW) == uid
    with engine.connect() as conn:
        actions = conn.execute(select(AccessLog.action).where(AccessLog.target == name)).scalars().all()
    assert {"user_disable", "user_enable", "password_set"} <= set(actions)

    assert main(["user", name, "--disable", "--enable", *url]) == 2
    assert main(["user", "no-such-person", "--disable", *url]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("another-long-password\n"))  # creating still works
    assert main(["user", name + "-b", "--role", "viewer", "--password-stdin", *url]) == 0
    with engine.connect() as conn:
        assert conn.execute(select(UserAccount.role).where(UserAccount.username == name + "-b")).scalar() == "viewer"
    assert "已停用" in capsys.readouterr().out
