"""Accounts, sessions, devices, embed tokens and area scope — on real SQLite files and over real HTTP."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text

from governance.core.access import ANONYMOUS, Principal, scope_condition, validate_role
from governance.accounts.accounts import (MAX_FAILS_PER_USER, USER_IDLE, USER_MAX, AuthError, authenticate, create_device,
                                 create_user, open_session, resolve_session, revoke_device, rotate_device, set_active,
                                 device_by_token)
from governance.core.embed_tokens import EmbedTokenError, mint_embed_token, read_embed_token, renewed
from governance.models import AccessLog, Event, UserAccount

from .conftest import TEST_PASSWORD, TEST_SECRET, WORLD_NOW, http_session
from .test_access_matrix import _server_callbacks, _callback_name, callback_payload

NOW = WORLD_NOW


def test_passwords_are_argon2_and_never_stored_plain(engine):
    with engine.begin() as conn:
        stored = conn.execute(select(UserAccount.password_hash).where(UserAccount.username == "leader")).scalar()
    assert stored.startswith("$argon2id$") and TEST_PASSWORD not in stored
    with engine.begin() as conn, pytest.raises(ValueError, match="至少"):
        create_user(conn, "short", "abc", "viewer", None, NOW)


def test_roles_are_anchored_at_their_level():
    validate_role("community_staff", "community")
    with pytest.raises(ValueError):
        validate_role("community_staff", "subdistrict")
    with pytest.raises(ValueError):
        validate_role("emperor", None)


def test_login_is_rate_limited_per_account(engine):
    for _ in range(MAX_FAILS_PER_USER):  # authenticate commits on its own: no transaction to roll back
        with pytest.raises(AuthError) as exc:
            authenticate(engine, "viewer", "wrong-password", "10.0.0.1", NOW)
        assert exc.value.status == 401
    with pytest.raises(AuthError) as exc:  # even the right password is refused now
        authenticate(engine, "viewer", TEST_PASSWORD, "10.0.0.2", NOW + timedelta(minutes=1))
    assert exc.value.status == 429
    assert authenticate(engine, "viewer", TEST_PASSWORD, "10.0.0.2", NOW + timedelta(minutes=16))  # the window passes
    with engine.connect() as conn:
        actions = conn.execute(select(AccessLog.action).where(AccessLog.actor == "viewer")).scalars().all()
    assert actions.count("login_failed") == MAX_FAILS_PER_USER and "login_throttled" in actions and "login" in actions


def test_sessions_expire_when_idle_after_max_and_when_disabled(engine):
    uid = authenticate(engine, "community", TEST_PASSWORD, "1.1.1.1", NOW)
    with engine.begin() as conn:
        token, _ = open_session(conn, NOW, user_id=uid)
    step = USER_IDLE - timedelta(minutes=1)
    t = NOW
    with engine.begin() as conn:
        while t + step < NOW + USER_MAX:  # kept alive by use …
            t += step
            assert resolve_session(conn, token, t) is not None
        assert resolve_session(conn, token, NOW + USER_MAX) is None  # … but never beyond the maximum
        token2, _ = open_session(conn, NOW, user_id=uid)
        assert resolve_session(conn, token2, NOW + USER_IDLE + timedelta(minutes=1)) is None  # idle too long
        token3, _ = open_session(conn, NOW, user_id=uid)
        set_active(conn, "community", False, NOW, "test")
        assert resolve_session(conn, token3, NOW) is None


def test_scope_condition_selects_exactly_the_subtree(engine, world_engine):
    acc = world_engine.accounts
    a = Principal(kind="user", role="community_staff", scope=(f"/510100/510107/{acc['focus']}/{acc['community']}/",))
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM area WHERE code=:c"), {"c": acc["community"]}).scalar()
        a = Principal(kind="user", role="community_staff", scope=(path,))
        mine = conn.execute(select(Event.area_path).where(scope_condition(a, Event.area_path))).scalars().all()
        want = conn.execute(text("SELECT COUNT(*) FROM event WHERE area_path LIKE :p"), {"p": path + "%"}).scalar()
        none = conn.execute(select(Event.id).where(scope_condition(ANONYMOUS, Event.area_path))).all()
    assert len(mine) == want > 0 and all(p.startswith(path) for p in mine)
    assert none == []


def test_embed_tokens_are_signed_short_lived_and_renew_within_the_chain():
    token = mint_embed_token(TEST_SECRET, "510107001", NOW, ["kpis", "map"], timedelta(minutes=10), "portal")
    payload = read_embed_token(TEST_SECRET, token, NOW + timedelta(minutes=9))
    assert payload["a"] == "510107001" and payload["p"] == ["kpis", "map"]
    with pytest.raises(EmbedTokenError, match="过期"):
        read_embed_token(TEST_SECRET, token, NOW + timedelta(minutes=10))
    with pytest.raises(EmbedTokenError, match="签名"):
        read_embed_token("another-secret-of-sufficient-length-000", token, NOW)
    with pytest.raises(EmbedTokenError, match="签名"):
        read_embed_token(TEST_SECRET, token[:-3] + "abc", NOW)
    with pytest.raises(EmbedTokenError):
        mint_embed_token(TEST_SECRET, "x", NOW, ["secrets"])
    assert renewed(TEST_SECRET, payload, NOW + timedelta(minutes=2)) is None  # not yet half-way
    fresh = renewed(TEST_SECRET, payload, NOW + timedelta(minutes=6))
    assert read_embed_token(TEST_SECRET, fresh, NOW + timedelta(minutes=15))["p"] == ["kpis", "map"]
    late = read_embed_token(TEST_SECRET, mint_embed_token(TEST_SECRET, "x", NOW + timedelta(hours=12), ttl=timedelta(
        minutes=10), origin_at=NOW), NOW + timedelta(hours=12, minutes=6))
    assert renewed(TEST_SECRET, late, NOW + timedelta(hours=12, minutes=6)) is None  # chain ends after 12 h


def test_devices_rotate_without_dropping_running_walls_and_revoke_everywhere(engine, world_engine):
    acc = world_engine.accounts
    with engine.begin() as conn:
        token = create_device(conn, "大厅屏", acc["focus"], NOW, "admin")
        device = device_by_token(conn, token)
        session, _ = open_session(conn, NOW, device_id=device)
        new_token = rotate_device(conn, "大厅屏", NOW, "admin")
        assert device_by_token(conn, token) is None and device_by_token(conn, new_token) == device
        later = NOW + timedelta(days=60)
        assert resolve_session(conn, session, later).kind == "kiosk"  # running wall unaffected, renewed by use
        assert resolve_session(conn, session, later + timedelta(days=60)) is not None
        revoke_device(conn, "大厅屏", NOW, "admin")
        assert resolve_session(conn, session, later) is None and device_by_token(conn, new_token) is None


# --- scope over real HTTP: a community user asking for another community gets nothing -----------------

def _post(client, live_server, cockpit_app, name, event_id, trigger=None, values=None):
    """Post one callback as the renderer would; `values` maps (component id or type, prop) → value."""
    key, entry = next((k, e) for k, e in _server_callbacks(cockpit_app).items() if _callback_name(e) == name)
    body = callback_payload(key, entry, event_id)
    values = values or {}
    for dep in body["inputs"] + body["state"]:
        if isinstance(dep, dict):
            ident = dep["id"]["type"] if isinstance(dep["id"], dict) else dep["id"]
            if (ident, dep["property"]) in values:
                dep["value"] = values[(ident, dep["property"])]
                if trigger == (ident, dep["property"]):
                    sid = json.dumps(dep["id"], sort_keys=True, separators=(",", ":")) \
                        if isinstance(dep["id"], dict) else dep["id"]
                    body["changedPropIds"] = [f"{sid}.{dep['property']}"]
    return client.post(live_server + "/_dash-update-component", json=body, timeout=60)


def test_another_community_by_url_callback_or_api_gets_nothing(world_engine, live_server, cockpit_app):
    acc = world_engine.accounts
    a, b = acc["communities"][0], acc["communities"][1]
    with world_engine.connect() as conn:
        event_a = conn.execute(text("SELECT id FROM event WHERE area_path LIKE :p AND reporter_phone IS NOT NULL "
                                    "ORDER BY id LIMIT 1"), {"p": f"%/{a}/%"}).scalar()
    user_b = http_session(world_engine, live_server, "community_b")
    # API: geometry, warning points and exports of community A look like unknown areas
    for url in (f"/api/v1/geo/{a}/general_grid.pbf", f"/api/v1/warnings/{a}.geojson", f"/api/v1/events.csv?area={a}"):
        assert user_b.get(live_server + url).status_code == 404, url
    assert user_b.get(live_server + f"/api/v1/geo/{b}/general_grid.pbf").status_code == 200
    # URL: the cockpit asked for A by its address renders B (the address bar falls back to home)
    resp = _post(user_b, live_server, cockpit_app, "render", event_a, ("url", "hash"), {("url", "hash"): f"#area={a}"})
    stamp = resp.json()["response"]["view-stamp"]["data"]
    assert stamp["area"] == b
    # Callback payloads naming A (a tampered store, rows, an event id) are refused before any query runs
    for name, trigger, values in (
            ("refresh_table", None, {("events-area", "data"): a}),
            ("open_detail", ("events-table", "active_cell"),
             {("events-table", "active_cell"): {"row": 0, "column": 0}, ("events-table", "data"): [{"id": event_a}],
              ("events-area", "data"): b}),
            ("unmask", ("unmask", "n_clicks"), {("unmask", "n_clicks"): 1})):
        with world_engine.connect() as conn:
            before = conn.execute(text("SELECT status, assignee_staff_id FROM event WHERE id=:i"), {"i": event_a}).one()
        resp = _post(user_b, live_server, cockpit_app, name, event_a, trigger, values)
        assert resp.status_code == 403 and "不在您的权限范围内" in resp.json()["error"], name
        with world_engine.connect() as conn:
            after = conn.execute(text("SELECT status, assignee_staff_id FROM event WHERE id=:i"), {"i": event_a}).one()
        assert before == after


def test_unmasking_needs_the_permission_and_is_logged(world_engine, live_server, cockpit_app):
    acc = world_engine.accounts
    with world_engine.connect() as conn:
        event_id, phone = conn.execute(text(
            "SELECT id, reporter_phone FROM event WHERE area_path LIKE :p AND reporter_phone IS NOT NULL "
            "ORDER BY id LIMIT 1"), {"p": f"%/{acc['communities'][0]}/%"}).one()
        logged = conn.execute(text("SELECT COUNT(*) FROM access_log WHERE action='unmask'")).scalar()
    click = {("unmask", "n_clicks"): 1}
    viewer = _post(http_session(world_engine, live_server, "viewer"), live_server, cockpit_app, "unmask", event_id,
                   ("unmask", "n_clicks"), click)
    assert viewer.status_code == 403 and phone not in viewer.text
    leader = _post(http_session(world_engine, live_server, "leader"), live_server, cockpit_app, "unmask", event_id,
                   ("unmask", "n_clicks"), click)
    body = leader.json() if leader.status_code == 200 else {}
    assert phone in json.dumps(body, ensure_ascii=False)
    with world_engine.connect() as conn:
        row = conn.execute(text("SELECT actor, target FROM access_log WHERE action='unmask' ORDER BY id DESC LIMIT 1")).one()
        assert conn.execute(text("SELECT COUNT(*) FROM access_log WHERE action='unmask'")).scalar() == logged + 1
    assert row == ("测试leader", f"event:{event_id}")


def test_login_form_sign_out_and_open_redirects(world_engine, live_server):
    import re

    s = requests.Session()
    form = s.get(live_server + "/login?next=//evil.example/x").text
    token = re.search(r'name="form_token" value="([^"]+)"', form).group(1)
    bad = s.post(live_server + "/login", data={"form_token": token, "username": "admin", "password": "nope",
                                               "next": "//evil.example/x"}, allow_redirects=False)
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    ok = s.post(live_server + "/login", data={"form_token": token, "username": "admin", "password": TEST_PASSWORD,
                                              "next": "//evil.example/x"}, allow_redirects=False)
    assert ok.status_code == 302 and ok.headers["Location"] == "/"  # never an open redirect
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert s.get(live_server + "/api/v1/events.csv").status_code == 200
    assert s.post(live_server + "/logout").status_code == 403  # no CSRF token
    out = s.post(live_server + "/logout", data={"csrf_token": s.cookies["_csrf_token"]}, allow_redirects=False)
    assert out.status_code == 302
    stale = requests.get(live_server + "/api/v1/events.csv", cookies={"gc_session": cookie.split(";")[0].split("=", 1)[1]})
    assert stale.status_code == 401  # the old cookie is dead on the server, not just deleted in the browser


def test_embed_token_endpoint_for_portal_backends(world_engine, live_server):
    from governance.accounts.api_clients import create_client

    acc = world_engine.accounts
    token = create_client(world_engine, "市门户", "embed", acc["communities"][0])
    pusher = create_client(world_engine, "只推送", "push")
    url = live_server + "/api/v1/embed-tokens"
    assert requests.post(url, json={}).status_code == 401
    assert requests.post(url, json={}, headers={"Authorization": f"Bearer {pusher}"}).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, json={"area": acc["communities"][1]}, headers=auth).status_code == 403
    assert requests.post(url, json={"area": acc["focus"]}, headers=auth).status_code == 403  # above its subtree
    assert requests.post(url, json={"panels": ["passwords"]}, headers=auth).status_code == 400
    resp = requests.post(url, json={"panels": ["kpis", "map"], "ttl_seconds": 300}, headers=auth)
    assert resp.status_code == 201
    minted = resp.json()
    payload = read_embed_token(TEST_SECRET, minted["token"], NOW)
    assert payload["a"] == acc["communities"][0] and payload["p"] == ["kpis", "map"] and payload["iss"] == "市门户"
    page = requests.get(live_server + minted["url"])
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert requests.get(live_server + "/embed?token=forged").status_code == 403


def test_a_wall_survives_a_server_restart(world_engine, tmp_path):
    """The wall's session lives in the database and is signed with the configured key: a new process honours it."""
    from governance.core.timeutil import utcnow

    from . import processes
    from .feed_helpers import world_copy

    engine = world_copy(world_engine, tmp_path)
    with engine.begin() as conn:
        token = create_device(conn, "重启测试大屏", world_engine.accounts["focus"], utcnow(), "test")
    url, first = processes.web(engine, tmp_path)
    try:
        wall = requests.Session()
        opened = wall.get(f"{url}/kiosk/{token}", allow_redirects=False)
        assert opened.status_code == 302 and "gc_session" in wall.cookies
    finally:
        processes.stop(first)
    url2, second = processes.web(engine, tmp_path)
    try:
        for c in list(wall.cookies):  # same browser, the server came back on another port
            wall.cookies.set(c.name, c.value, domain="127.0.0.1", path="/")
        page = wall.get(url2 + "/", allow_redirects=False)
        assert page.status_code == 200  # no detour to /login
        assert wall.get(f"{url2}/api/v1/warnings/{world_engine.accounts['focus']}.geojson").status_code == 200
    finally:
        processes.stop(second)


def test_production_needs_a_secret_key(world_engine):
    from dashboard.app import create_app
    from governance.core.config import load_settings

    with pytest.raises(ValueError, match="COCKPIT_SECRET_KEY"):
        create_app(load_settings(database_url=str(world_engine.url), secret_key=None, demo=False), world_engine)
    with pytest.raises(ValueError, match="at least 32"):
        create_app(load_settings(database_url=str(world_engine.url), secret_key="short", demo=False), world_engine)


def test_exports_are_logged(world_engine, live_server):
    http = http_session(world_engine, live_server, "community")
    assert http.get(live_server + "/api/v1/events.csv?status=handle").status_code == 200
    with world_engine.connect() as conn:
        row = conn.execute(text("SELECT actor, target, detail FROM access_log WHERE action='export' "
                                "ORDER BY id DESC LIMIT 1")).one()
    assert row == ("测试community", world_engine.accounts["community"], "status=handle")
