"""Admin console and audit over real HTTP: scope of a community admin, sessions ending on disable, one-time
password links, wall rotation, playlists, API clients, warning settings checked like the start-up check."""
from __future__ import annotations

import csv
import io
import re

import pytest
import requests
import yaml
from sqlalchemy import select

from governance.core.access import Principal
from governance.accounts.accounts import AuthError, authenticate, create_device, create_user
from governance.models import AdminChange
from governance.accounts.admin_ops import AdminError, create_api_client, create_person, list_clients, save_playlist
from governance.core.cache import data_version
from governance.models import AccessLog, Area, AuthSession, KioskDevice, UserAccount
from governance.console.rule_settings import apply, current_rules
from governance.alerts.warnings import RulesError, load_rules

from .admin_helpers import dash_call, flat, page_content
from .conftest import TEST_PASSWORD, WORLD_NOW, http_session

SCOPE_REFUSED = "不在您的权限范围内"


@pytest.fixture(scope="module")
def setup(world_engine, live_server, cockpit_app):
    """A community-A admin, a person and a wall on each side of it, and a city-wide admin's client."""
    acc = world_engine.accounts
    a, b = acc["communities"][0], acc["communities"][1]
    with world_engine.begin() as conn:
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "adm_a")).first() is None:
            create_user(conn, "adm_a", TEST_PASSWORD, "admin", a, WORLD_NOW, display_name="社区A管理员")
            for name, code in (("staff_a", a), ("staff_b", b), ("victim", a), ("resetme", a)):
                create_user(conn, name, TEST_PASSWORD, "community_staff", code, WORLD_NOW)
            create_device(conn, "管理测试大屏A", a, WORLD_NOW, "test")
            create_device(conn, "管理测试大屏B", b, WORLD_NOW, "test")
        ids = dict(conn.execute(select(UserAccount.username, UserAccount.id)).all())
        devices = dict(conn.execute(select(KioskDevice.name, KioskDevice.id)).all())
        paths = dict(conn.execute(select(Area.code, Area.path).where(Area.code.in_([a, b]))).all())
    requests.get(live_server + "/login")  # Dash fills its callback map on the first request
    return {"a": a, "b": b, "ids": ids, "devices": devices, "paths": paths,
            "adm_a": http_session(world_engine, live_server, "adm_a"),
            "admin": http_session(world_engine, live_server, "admin")}


def _user_row(uid: int, do: str) -> list[dict]:
    return [{"type": "adm-user", "user": uid, "do": do}]


def test_a_community_admin_sees_and_changes_only_its_subtree(setup, world_engine, live_server, cockpit_app):
    s, ids, dev = setup["adm_a"], setup["ids"], setup["devices"]
    people = page_content(s, live_server, "/admin/people")
    assert '"staff_a"' in people and '"staff_b"' not in people and '"测试admin"' not in people  # nor city-wide
    walls = page_content(s, live_server, "/admin/devices")
    assert '"管理测试大屏A"' in walls and '"管理测试大屏B"' not in walls
    # a forged click on another community's person or wall is refused by the guard and changes nothing
    row = _user_row(ids["staff_b"], "disable")
    resp = dash_call(s, live_server, cockpit_app, "people_action", trigger=row[0], pattern=row)
    assert resp.status_code == 403 and SCOPE_REFUSED in flat(resp)
    row = [{"type": "adm-dev", "device": dev["管理测试大屏B"], "do": "rotate"}]
    resp = dash_call(s, live_server, cockpit_app, "devices_action", trigger=row[0], pattern=row)
    assert resp.status_code == 403 and SCOPE_REFUSED in flat(resp)
    resp = dash_call(s, live_server, cockpit_app, "people_action", trigger="adm-create",
                     values={"adm-new-username.value": "new_b", "adm-new-role.value": "viewer",
                             "adm-new-area.value": setup["b"]})
    assert resp.status_code == 403
    with world_engine.connect() as conn:
        assert conn.execute(select(UserAccount.active).where(UserAccount.id == ids["staff_b"])).scalar() is True
        assert conn.execute(select(UserAccount.id).where(UserAccount.username == "new_b")).first() is None
    # the operations refuse on their own too (the CLI and any future caller)
    p = Principal(kind="user", name="x", role="admin", scope=(setup["paths"][setup["a"]],), home=setup["a"])
    with world_engine.begin() as conn, pytest.raises(AdminError, match="不在您的管理范围内"):
        create_person(conn, p, "new_b2", "", "viewer", None, WORLD_NOW)
    for role, word in (("department", "绑定职能部门"), ("grid_worker", "绑定网格员档案")):  # would be unusable
        with world_engine.begin() as conn, pytest.raises(AdminError, match=word):
            create_person(conn, p, f"new_{role}", "", role, setup["a"], WORLD_NOW)
    with world_engine.begin() as conn, pytest.raises(AdminError, match="只有全市管理员"):
        create_api_client(conn, p, "推送X", ["push"], setup["a"], WORLD_NOW)
    # exports of another subtree's audit look like an unknown resource
    assert s.get(f"{live_server}/api/v1/audit.csv?area={setup['b']}").status_code == 404
    assert s.get(f"{live_server}/api/v1/audit.csv?area={setup['a']}").status_code == 200
    # its own person: created with a one-time link, inside its subtree
    resp = dash_call(s, live_server, cockpit_app, "people_action", trigger="adm-create",
                     values={"adm-new-username.value": "new_a", "adm-new-name.value": "新人",
                             "adm-new-role.value": "community_staff", "adm-new-area.value": setup["a"]})
    assert resp.status_code == 200 and "/reset/" in flat(resp), resp.text[:300]
    with world_engine.connect() as conn:
        assert conn.execute(select(UserAccount.area_code).where(UserAccount.username == "new_a")).scalar() == setup["a"]


def test_disabling_a_person_ends_their_open_session_at_the_next_request(setup, world_engine, live_server,
                                                                         cockpit_app):
    victim = http_session(world_engine, live_server, "victim")
    assert victim.get(live_server + "/api/v1/changes?once=1", timeout=30).status_code == 200
    row = _user_row(setup["ids"]["victim"], "disable")
    resp = dash_call(setup["adm_a"], live_server, cockpit_app, "people_action", trigger=row[0], pattern=row)
    assert resp.status_code == 200 and "已停用" in flat(resp)
    assert victim.get(live_server + "/api/v1/changes?once=1", timeout=30).status_code == 401
    with world_engine.connect() as conn:
        live = conn.execute(select(AuthSession.id).where(AuthSession.user_id == setup["ids"]["victim"],
                                                         AuthSession.revoked_at.is_(None))).all()
        change = conn.execute(select(AdminChange.before, AdminChange.after, AdminChange.actor)
                              .where(AdminChange.target == "victim").order_by(AdminChange.id.desc())).first()
    assert live == [] and change.before == {"active": True} and change.after == {"active": False}
    assert change.actor == "社区A管理员"
    row = _user_row(setup["ids"]["victim"], "enable")
    assert dash_call(setup["adm_a"], live_server, cockpit_app, "people_action", trigger=row[0],
                     pattern=row).status_code == 200
    assert victim.get(live_server + "/api/v1/changes?once=1", timeout=30).status_code == 401  # ended stays ended


def test_a_one_time_link_sets_a_password_once(setup, world_engine, live_server, cockpit_app):
    old = http_session(world_engine, live_server, "resetme")
    row = _user_row(setup["ids"]["resetme"], "reset")
    resp = dash_call(setup["adm_a"], live_server, cockpit_app, "people_action", trigger=row[0], pattern=row)
    link = re.search(r"/reset/[A-Za-z0-9_-]{40,}", flat(resp)).group(0)
    with world_engine.connect() as conn:  # only the hash is stored
        from governance.models import PasswordReset
        stored = conn.execute(select(PasswordReset.token_sha256)).scalars().all()
    assert link.rsplit("/", 1)[1] not in stored
    anon = requests.Session()
    form = anon.get(live_server + link)
    assert form.status_code == 200 and "resetme" in form.text
    assert "两次输入的密码不一致" in anon.post(live_server + link, data={"password": "a" * 12, "repeat": "b" * 12}).text
    assert "密码至少 10 位" in anon.post(live_server + link, data={"password": "short", "repeat": "short"}).text
    done = anon.post(live_server + link, data={"password": "new-password-123", "repeat": "new-password-123"})
    assert done.status_code == 200 and "密码已设置" in done.text
    assert anon.get(live_server + link).status_code == 404  # spent
    assert anon.post(live_server + link, data={"password": "x" * 12, "repeat": "x" * 12}).status_code == 404
    assert old.get(live_server + "/api/v1/changes?once=1").status_code == 401  # sessions ended
    assert authenticate(world_engine, "resetme", "new-password-123", "127.9.9.9", WORLD_NOW)
    with pytest.raises(AuthError):
        authenticate(world_engine, "resetme", TEST_PASSWORD, "127.9.9.9", WORLD_NOW)


def test_rotating_a_wall_keeps_the_running_wall_and_refuses_the_old_link(setup, world_engine, live_server,
                                                                          cockpit_app):
    admin = setup["admin"]
    resp = dash_call(admin, live_server, cockpit_app, "devices_action", trigger="adm-dev-create",
                     values={"adm-dev-name.value": "旋转测试大屏", "adm-dev-area.value": setup["a"]})
    first = re.search(r"/kiosk/[A-Za-z0-9_-]{40,}", flat(resp)).group(0)
    wall = requests.Session()
    assert wall.get(live_server + first, allow_redirects=False).status_code == 302
    assert wall.get(live_server + "/api/v1/changes?once=1").status_code == 200
    with world_engine.connect() as conn:
        device = conn.execute(select(KioskDevice.id).where(KioskDevice.name == "旋转测试大屏")).scalar()
    row = [{"type": "adm-dev", "device": device, "do": "rotate"}]
    resp = dash_call(admin, live_server, cockpit_app, "devices_action", trigger=row[0], pattern=row)
    second = re.search(r"/kiosk/[A-Za-z0-9_-]{40,}", flat(resp)).group(0)
    assert second != first
    assert wall.get(live_server + "/api/v1/changes?once=1").status_code == 200  # the running wall keeps going
    assert requests.get(live_server + first, allow_redirects=False).status_code == 403
    assert requests.get(live_server + second, allow_redirects=False).status_code == 302
    row = [{"type": "adm-dev", "device": device, "do": "revoke"}]
    assert dash_call(admin, live_server, cockpit_app, "devices_action", trigger=row[0], pattern=row).status_code == 200
    assert wall.get(live_server + "/api/v1/changes?once=1").status_code == 401
    assert requests.get(live_server + second, allow_redirects=False).status_code == 403
    row = [{"type": "adm-dev", "device": device, "do": "rotate"}]  # a stale table: 换发链接 on the revoked wall
    resp = dash_call(admin, live_server, cockpit_app, "devices_action", trigger=row[0], pattern=row)
    assert resp.status_code == 200 and "已停用，不能换发链接" in flat(resp)


def test_playlists_are_validated_and_audited(setup, world_engine):
    a, b = setup["a"], setup["b"]
    p = Principal(kind="user", name="管理员", role="admin", scope=("/",))
    device = setup["devices"]["管理测试大屏A"]
    cases = [("[{", "不是有效的 JSON"), ('{"view": "#area=x"}', "轮播列表应为"),
             (f'[{{"view": "#area={a}", "seconds": 5}}]', "seconds ≥ 10"),
             (f'[{{"view": "area={a}", "seconds": 60}}]', "view 以 # 开头"),
             (f'[{{"view": "#area={b}", "seconds": 60}}]', "不在该大屏的区域内")]
    for text, message in cases:
        with world_engine.begin() as conn, pytest.raises(AdminError, match=re.escape(message)):
            save_playlist(conn, p, device, text, WORLD_NOW)
    good = f'[{{"view": "#area={a}", "seconds": 30}}, {{"view": "#area={a}&metric=open", "seconds": 20}}]'
    with world_engine.begin() as conn:
        saved = save_playlist(conn, p, device, good, WORLD_NOW)
    with world_engine.connect() as conn:
        stored = conn.execute(select(KioskDevice.playlist).where(KioskDevice.id == device)).scalar()
        change = conn.execute(select(AdminChange.before, AdminChange.after).where(
            AdminChange.action == "device_playlist", AdminChange.target == "管理测试大屏A")
            .order_by(AdminChange.id.desc())).first()
    assert stored == saved == [{"view": f"#area={a}", "seconds": 30}, {"view": f"#area={a}&metric=open", "seconds": 20}]
    assert change.before == {"playlist": []} and change.after == {"playlist": saved}


def test_portal_clients_rotate_revoke_and_show_last_use(setup, world_engine, live_server, cockpit_app):
    admin = setup["admin"]
    resp = dash_call(admin, live_server, cockpit_app, "clients_action", trigger="adm-client-create",
                     values={"adm-client-name.value": "管理测试门户", "adm-client-scopes.value": ["embed"],
                             "adm-client-area.value": setup["a"]})
    token = re.search(r'secret-value[^}]*?"children": ?"([A-Za-z0-9_-]{40,})"', flat(resp)) or \
        re.search(r'"([A-Za-z0-9_-]{43})"', flat(resp))
    token = token.group(1)
    mint = lambda t: requests.post(live_server + "/api/v1/embed-tokens", json={"area": setup["a"]},  # noqa: E731
                                   headers={"Authorization": f"Bearer {t}"})
    assert mint(token).status_code == 201
    p = Principal(kind="user", name="管理员", role="admin", scope=("/",))
    with world_engine.connect() as conn:
        client = next(c for c in list_clients(conn, p) if c["name"] == "管理测试门户")
    assert client["last_used_at"] is not None and client["scopes"] == "embed"
    row = [{"type": "adm-client", "client": client["id"], "do": "rotate"}]
    resp = dash_call(admin, live_server, cockpit_app, "clients_action", trigger=row[0], pattern=row)
    new = re.search(r'"([A-Za-z0-9_-]{43})"', flat(resp)).group(1)
    assert mint(token).status_code == 401 and mint(new).status_code == 201
    row = [{"type": "adm-client", "client": client["id"], "do": "revoke"}]
    assert dash_call(admin, live_server, cockpit_app, "clients_action", trigger=row[0], pattern=row).status_code == 200
    assert mint(new).status_code == 401


def _startup_message(tmp_path, path: str, value) -> str:
    """What the start-up check says about the rules file with one value changed (written to a file)."""
    from governance.console.rule_settings import file_doc
    from governance.core.setting_paths import set_path

    doc = file_doc()
    set_path(doc, path, value)
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rules(bad)
    return str(exc.value)


def test_warning_settings_are_checked_like_the_startup_check_and_apply_at_once(setup, world_engine, live_server,
                                                                             cockpit_app, tmp_path):
    admin = setup["admin"]
    expected = _startup_message(tmp_path, "grid.spike.red_p", 0.5)
    assert "red_p" in expected
    resp = dash_call(admin, live_server, cockpit_app, "settings_action", trigger="adm-set-save",
                     values={"adm-set-path.value": "grid.spike.red_p", "adm-set-value.value": "0.5"})
    assert resp.status_code == 200 and expected in resp.json()["response"]["adm-set-msg"]["children"]["props"][
        "children"][1]["props"]["children"]
    assert current_rules(world_engine).spike_red_p == load_rules().spike_red_p  # nothing stored
    # a city-wide setting: a community admin may not change it
    resp = dash_call(setup["adm_a"], live_server, cockpit_app, "settings_action", trigger="adm-set-save",
                     values={"adm-set-path.value": "event.red_at_severity", "adm-set-value.value": "1"})
    assert "只有全市管理员" in flat(resp)
    with world_engine.connect() as conn:
        before_version = data_version(conn)
    try:
        resp = dash_call(admin, live_server, cockpit_app, "settings_action", trigger="adm-set-save",
                         values={"adm-set-path.value": "event.red_at_severity", "adm-set-value.value": "1"})
        assert "已保存并生效" in flat(resp) and "-  red_at_severity: 4" in flat(resp)
        assert current_rules(world_engine).red_at_severity == 1
        with world_engine.connect() as conn:
            assert data_version(conn) != before_version  # open walls and caches move on
            change = conn.execute(select(AdminChange.before, AdminChange.after).where(
                AdminChange.action == "rule_change").order_by(AdminChange.id.desc())).first()
        assert change.before == {"value": 4} and change.after == {"value": 1}
        rules_page = page_content(admin, live_server, "/rules")
        assert "等级“一般”的事件在办期间一律红色" in rules_page or "rules-changed" in rules_page
    finally:
        with world_engine.begin() as conn:
            apply(conn, "event.red_at_severity", None, "test", WORLD_NOW)
    assert current_rules(world_engine).red_at_severity == load_rules().red_at_severity


def test_audit_filters_and_exports(setup, world_engine, live_server, cockpit_app):
    from openpyxl import load_workbook

    admin = setup["admin"]
    resp = dash_call(admin, live_server, cockpit_app, "audit_refresh",
                     values={"audit-kind.value": "changes", "audit-person.value": "社区A管理员"})
    assert resp.status_code == 200
    with world_engine.connect() as conn:
        expected = conn.execute(select(AdminChange.id).where(AdminChange.actor.contains("社区A管理员"))).all()
    assert f"管理变更：{len(expected)} 条" in flat(resp) and len(expected) >= 3
    csv_resp = admin.get(f"{live_server}/api/v1/audit.csv?kind=changes&person=社区A管理员")
    rows = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "操作人", "动作", "对象", "修改前", "修改后"] and len(rows) - 1 == len(expected)
    assert any(r[2] == "停用账号" and r[3] == "victim" and '"active": true' in r[4] for r in rows[1:])
    xlsx = load_workbook(io.BytesIO(admin.get(f"{live_server}/api/v1/audit.xlsx?kind=changes&person=社区A管理员")
                                    .content))
    assert [[c.value or "" for c in r] for r in xlsx.active.iter_rows()][1:] == rows[1:]
    # the access log holds sign-in failures and the exports themselves, filterable by kind
    resp = dash_call(admin, live_server, cockpit_app, "audit_refresh",
                     values={"audit-kind.value": "access", "audit-action.value": "audit_export"})
    with world_engine.connect() as conn:
        n = len(conn.execute(select(AccessLog.id).where(AccessLog.action == "audit_export")).all())
    assert f"访问日志：{min(n, 500)} 条" in flat(resp) and n >= 2
    # event actions of the admin's own subtree only
    resp = dash_call(setup["adm_a"], live_server, cockpit_app, "audit_refresh", values={"audit-kind.value": "events"})
    assert resp.status_code == 200 and "事件操作" in flat(resp)


def test_the_cli_keeps_working_and_writes_the_same_trail(engine, monkeypatch, capsys):
    from app import main

    url = ["--database-url", engine.url.render_as_string(hide_password=False)]
    a = engine.accounts["communities"][0] if hasattr(engine, "accounts") else None
    with engine.connect() as conn:
        a = a or conn.execute(select(Area.code).where(Area.level == "community").order_by(Area.code)).scalar()
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password-123\n"))
    assert main(["user", "cli_person", "--role", "community_staff", "--area", a, "--password-stdin", *url]) == 0
    assert main(["user", "cli_person", "--disable", *url]) == 0
    assert main(["device", "命令行大屏", "--area", a, *url]) == 0
    assert main(["device", "命令行大屏", "--rotate", *url]) == 0
    with engine.connect() as conn:
        trail = conn.execute(select(AdminChange.action, AdminChange.target, AdminChange.before, AdminChange.after,
                                    AdminChange.area_path).where(AdminChange.actor == "命令行管理员")
                             .order_by(AdminChange.id)).all()
        path = conn.execute(select(Area.path).where(Area.code == a)).scalar()
    assert [(t.action, t.target) for t in trail] == [("user_create", "cli_person"), ("user_disable", "cli_person"),
                                                    ("device_create", "命令行大屏"), ("device_rotate", "命令行大屏")]
    assert trail[1].before["active"] is True and trail[1].after["active"] is False
    assert all(t.area_path == path for t in trail)


def test_a_community_admin_reads_only_its_subtrees_audit_and_clients(setup, world_engine, live_server, cockpit_app):
    a, b = setup["a"], setup["b"]
    root = Principal(kind="user", name="管理员", role="admin", scope=("/",))
    with world_engine.begin() as conn:
        if not any(c["name"] == "门户A" for c in list_clients(conn, root)):
            create_api_client(conn, root, "门户A", ["embed"], a, WORLD_NOW)
            create_api_client(conn, root, "门户B", ["embed"], b, WORLD_NOW)
    for who in ("staff_a", "staff_b"):
        with pytest.raises(AuthError):
            authenticate(world_engine, who, "wrong-password-0", "127.8.8.8", WORLD_NOW)
    clients = page_content(setup["adm_a"], live_server, "/admin/clients")
    assert '"门户A"' in clients and '"门户B"' not in clients
    resp = dash_call(setup["adm_a"], live_server, cockpit_app, "audit_refresh",
                     values={"audit-kind.value": "access", "audit-action.value": "login_failed"})
    body = flat(resp)
    assert "staff_a" in body and "staff_b" not in body
    resp = dash_call(setup["admin"], live_server, cockpit_app, "audit_refresh",
                     values={"audit-kind.value": "access", "audit-action.value": "login_failed"})
    assert "staff_a" in flat(resp) and "staff_b" in flat(resp)


def test_a_shared_display_name_does_not_open_another_communitys_access_log(setup, world_engine, live_server,
                                                                         cockpit_app):
    """Display names are not unique: an account in A named like a person of B must not show A's admin what B's
    person did (rows carry the area their actor acted from)."""
    a, b = setup["a"], setup["b"]
    with world_engine.begin() as conn:
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "wangfang_b")).first() is None:
            create_user(conn, "wangfang_b", TEST_PASSWORD, "community_staff", b, WORLD_NOW, display_name="同名王芳")
            create_user(conn, "wangfang_a", TEST_PASSWORD, "community_staff", a, WORLD_NOW, display_name="同名王芳")
    b_staff = http_session(world_engine, live_server, "wangfang_b")
    assert b_staff.get(live_server + f"/api/v1/events.csv?area={b}", timeout=60).status_code == 200  # logged as 同名王芳
    with world_engine.connect() as conn:
        row = conn.execute(select(AccessLog.actor, AccessLog.area_path).where(AccessLog.actor == "同名王芳")
                           .order_by(AccessLog.id.desc())).first()
        b_path = conn.execute(select(Area.path).where(Area.code == b)).scalar()
    assert row is not None and row.area_path == b_path
    seen_by_a = flat(dash_call(setup["adm_a"], live_server, cockpit_app, "audit_refresh",
                               values={"audit-kind.value": "access", "audit-person.value": "同名王芳"}))
    seen_by_root = flat(dash_call(setup["admin"], live_server, cockpit_app, "audit_refresh",
                                  values={"audit-kind.value": "access", "audit-person.value": "同名王芳"}))
    assert "同名王芳" in seen_by_root and "同名王芳" not in seen_by_a
