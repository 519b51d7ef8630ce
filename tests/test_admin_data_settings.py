"""Departments, 报到 limits and visit plans changed in the admin console (#22): refused with exactly the start-up
check's message (nothing stored), applied without a restart (dispatch suggestions, whistles, the scheduler's
visit rounds in another process, 逾期未访), audited with before/after, and only by admins whose subtree
holds the whole deployment. On SQLite and (`--db postgresql`) PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, text

from governance.core.access import Principal
from governance.models import AdminChange
from governance.accounts.admin_ops import AdminError
from governance.core.cache import data_version
from governance.accounts.console_settings import manages_shared, overrides
from governance.events.department_settings import (DEPARTMENTS, department_rows, disabled_departments, effective_participation,
                                            report_limits, save, set_enabled)
from governance.events.dispatch import DispatchError, dispatch, suggest_assignees
from governance.models import Area, Department, Whistle
from governance.events.participation import ParticipationError, load_participation
from governance.models import VisitTask
from governance.console.plan_settings import effective_plans, plan_rows
from governance.console.plan_settings import save as save_plan
from governance.events.queries import world_info
from governance.console.rule_settings import current_rules
from governance.core.taxonomy import TAXONOMY_FILE, TaxonomyError, load_taxonomy
from governance.people.visits import missed_visits, parse_plans, plans

from .conftest import WORLD_NOW
from .test_departments import T0, make_event, whistled

ROOT = Path(__file__).resolve().parents[1]
CITY = Principal(kind="user", name="测试市管理员", role="admin", scope=("/",))


def _principal(conn, code: str, name: str) -> Principal:
    path = conn.execute(select(Area.path).where(Area.code == code)).scalar()
    return Principal(kind="user", name=name, role="admin", scope=(path,), home=code)


def _taxonomy_message(tmp_path, code: str, **entry) -> str:
    """What the start-up check of taxonomy.yaml says about a file whose department `code` has `entry`."""
    doc = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    for d in doc["departments"]:
        if d["code"] == code:
            d.update(entry)
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy(bad)
    return str(exc.value)


def test_departments_checked_like_the_startup_check_applied_at_once_and_audited(engine, tmp_path):
    with engine.connect() as conn:
        focus = world_info(conn)["focus_code"]
        comm = conn.execute(select(Area.code).where(Area.level == "community").order_by(Area.code)).scalar()
        sub_admin, comm_admin = _principal(conn, focus, "街道管理员"), _principal(conn, comm, "社区管理员")
        every_sub = conn.execute(select(Area.path).where(Area.level == "subdistrict")).scalars().all()
        assert manages_shared(conn, CITY) and not manages_shared(conn, comm_admin)
        assert manages_shared(conn, sub_admin) == all(p.startswith(sub_admin.scope[0]) for p in every_sub)
        version = data_version(conn)
    # a community admin changes nothing
    with engine.begin() as conn, pytest.raises(AdminError, match="只有全市或街道管理员"):
        save(conn, comm_admin, "taxonomy:gas.name", "燃气抢修", WORLD_NOW)
    # an empty name: the start-up check's own message, nothing stored
    expected = _taxonomy_message(tmp_path, "gas", name="")
    assert expected == "部门 gas：名称须为 1–60 个字符"
    with engine.begin() as conn, pytest.raises(TaxonomyError) as exc:
        save(conn, CITY, "taxonomy:gas.name", "''", WORLD_NOW)
    assert str(exc.value) == expected
    with engine.begin() as conn, pytest.raises(TaxonomyError) as exc:
        save(conn, CITY, "taxonomy:gas.enabled", "maybe", WORLD_NOW)
    assert str(exc.value) == _taxonomy_message(tmp_path, "gas", enabled="maybe")
    with engine.connect() as conn:
        assert overrides(conn, DEPARTMENTS) == {}
    # a new name: in the department table, the dispatch suggestions, the list; audited with before/after
    eid = make_event(engine, "ADM-GAS-1", category="1101", severity=4)  # 燃气隐患: gas, safety_office
    with engine.begin() as conn:
        change = save(conn, sub_admin if manages_shared(conn, sub_admin) else CITY, "taxonomy:gas.name",
                      "燃气抢修中心（东片）", WORLD_NOW)
        assert change["before"] == "燃气公司抢修中心" and any("燃气抢修中心（东片）" in line for line in change["diff"])
    with engine.connect() as conn:
        assert conn.execute(select(Department.name).where(Department.code == "gas")).scalar() == "燃气抢修中心（东片）"
        _, depts = suggest_assignees(conn, eid, T0)
        assert {d["code"]: d["name"] for d in depts}["gas"] == "燃气抢修中心（东片）"
        row = next(r for r in department_rows(conn) if r["code"] == "gas")
        assert row["file_name"] == "燃气公司抢修中心" and "燃气隐患" in row["handles"] and row["enabled"]
        audit = conn.execute(select(AdminChange.action, AdminChange.target, AdminChange.before, AdminChange.after)
                             .order_by(AdminChange.id.desc())).first()
        assert tuple(audit) == ("dept_change", "taxonomy:gas.name", {"value": "燃气公司抢修中心"},
                                {"value": "燃气抢修中心（东片）"})
        assert data_version(conn) != version  # caches and open walls move on
    # disabled: not offered, cannot be whistled; enabled again: back
    with engine.begin() as conn:
        set_enabled(conn, CITY, "gas", False, WORLD_NOW)
    with engine.connect() as conn:
        assert disabled_departments(conn) == {"gas"}
        assert [d["code"] for d in suggest_assignees(conn, eid, T0)[1]] == ["safety_office"]
    with engine.begin() as conn, pytest.raises(DispatchError, match="部门已停用，不能吹哨：gas"):
        dispatch(conn, eid, suggest_assignees(conn, eid, T0)[0][0].staff_id, "街道指挥中心", T0, ("gas",))
    with engine.begin() as conn:
        set_enabled(conn, CITY, "gas", True, WORLD_NOW)
        save(conn, CITY, "taxonomy:gas.name", None, WORLD_NOW)  # back to the file's value
        assert conn.execute(select(Department.name).where(Department.code == "gas")).scalar() == "燃气公司抢修中心"
        assert conn.execute(select(AdminChange.action).order_by(AdminChange.id.desc())).scalar() == "dept_reset"


def test_report_limits_checked_like_the_startup_check_and_used_by_new_whistles(engine):
    doc = yaml.safe_load((ROOT / "governance/events/participation.yaml").read_text(encoding="utf-8"))
    doc["whistle"]["report_hours"][4] = 0
    from governance.events.participation import parse_participation

    with pytest.raises(ParticipationError) as startup:
        parse_participation(doc)
    with engine.begin() as conn, pytest.raises(ParticipationError) as exc:
        save(conn, CITY, "participation:whistle.report_hours.4", "0", WORLD_NOW)
    assert str(exc.value) == str(startup.value) == "whistle.report_hours: positive hours for severities 1–4"
    with engine.begin() as conn:
        save(conn, CITY, "participation:whistle.report_hours.4", "1.5", WORLD_NOW)
    with engine.connect() as conn:
        assert effective_participation(conn).report_hours[4] == 1.5
        assert load_participation().report_hours[4] == 0.5  # the file is untouched
        assert [r["hours"] for r in report_limits(conn)] == [24, 8, 2, 1.5]
    eid = make_event(engine, "ADM-GAS-2", category="1101", severity=4)
    ids = whistled(engine, eid, ("gas",))
    with engine.connect() as conn:
        due = conn.execute(select(Whistle.due_at).where(Whistle.id == ids["gas"])).scalar()
    assert due == T0 + timedelta(minutes=90)


def _plan_message(**entry) -> str:
    """What the start-up check of people.yaml's visit_plans says about a file whose 独居老人 plan has `entry`."""
    doc = yaml.safe_load((ROOT / "governance/people/people.yaml").read_text(encoding="utf-8"))["visit_plans"]
    doc[0].update(entry)
    with pytest.raises(ValueError) as exc:
        parse_plans(doc)
    return str(exc.value)


def _run_round_elsewhere(engine, at) -> int:
    """The scheduler's visit round in another process (it knows only the database)."""
    code = ("import sys; from datetime import datetime; from governance.core.db import make_engine; "
            "from data_sources.people_jobs import run_visit_round; "
            "print(run_visit_round(make_engine(sys.argv[1]), datetime.fromisoformat(sys.argv[2])))")
    out = subprocess.run([sys.executable, "-c", code, engine.url.render_as_string(hide_password=False),
                          at.isoformat()], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def _newest_due(conn):
    return conn.execute(select(VisitTask.due_at).where(VisitTask.plan == "elderly_alone")
                        .order_by(VisitTask.due_at.desc()).limit(1)).scalar()


def test_visit_plans_checked_applied_by_the_scheduler_process_and_audited(engine):
    now = WORLD_NOW
    with engine.connect() as conn:
        comm = conn.execute(select(Area.code).where(Area.level == "community").order_by(Area.code)).scalar()
        comm_admin = _principal(conn, comm, "社区管理员")
    with engine.begin() as conn, pytest.raises(AdminError):
        save_plan(conn, comm_admin, "elderly_alone.every_days", "3", now)
    for bad, entry in (("0", {"every_days": 0}), ("abc", {"every_days": "abc"}), ("3.5", {"every_days": 3.5})):
        with engine.begin() as conn, pytest.raises(ValueError) as exc:
            save_plan(conn, CITY, "elderly_alone.every_days", bad, now)
        assert str(exc.value) == _plan_message(**entry) and str(exc.value).startswith("走访计划无效：")
    with engine.connect() as conn:
        assert effective_plans(conn) == plans() and plans()[0].every_days == 7
    first = _run_round_elsewhere(engine, now)
    with engine.connect() as conn:
        alone = conn.execute(select(func.count()).where(VisitTask.plan == "elderly_alone")).scalar()
        assert first > alone > 0
        assert _newest_due(conn) == now + timedelta(days=7)
    with engine.begin() as conn:
        change = save_plan(conn, CITY, "elderly_alone.every_days", "3", now)
    assert change["before"] == 7 and change["after"] == 3 and change["moved"] == alone
    assert any(line.startswith("+") and "every_days: 3" in line for line in change["diff"])
    later = now + timedelta(days=4)
    with engine.connect() as conn:
        assert effective_plans(conn)[0].every_days == 3
        assert next(r for r in plan_rows(conn) if r["group"] == "elderly_alone")["every_days"] == 3
        # this round's open visits are now due at created + 3 days: missed 4 days later
        late = conn.execute(text("SELECT COUNT(*) FROM visit_task WHERE plan = 'elderly_alone' AND done_at IS NULL "
                                 "AND due_at < :t"), {"t": later}).scalar()
        assert late == alone and sum(missed_visits(conn, "/", later).values()) >= alone
        audit = conn.execute(select(AdminChange.action, AdminChange.target, AdminChange.before, AdminChange.after)
                             .order_by(AdminChange.id.desc())).first()
        assert tuple(audit) == ("plan_change", "people:elderly_alone.every_days", {"value": 7}, {"value": 3})
        assert current_rules(conn) is not None  # the warning rules ignore the console's other documents
    # the scheduler (another process) makes the next 独居老人 round 3 days on, each due 3 days later
    assert _run_round_elsewhere(engine, later) == alone
    with engine.connect() as conn:
        assert _newest_due(conn) == later + timedelta(days=3)
    with engine.begin() as conn:
        back = save_plan(conn, CITY, "elderly_alone.every_days", None, now)
        assert back["after"] == 7 and effective_plans(conn)[0].every_days == 7


def test_a_community_admin_reads_but_cannot_change_over_http(world_engine, live_server, cockpit_app):
    from governance.accounts.accounts import create_user
    from governance.models import UserAccount

    from .admin_helpers import dash_call, flat, page_content
    from .conftest import TEST_PASSWORD, http_session

    comm = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        if conn.execute(select(UserAccount.id).where(UserAccount.username == "adm_c22")).first() is None:
            create_user(conn, "adm_c22", TEST_PASSWORD, "admin", comm, WORLD_NOW, display_name="社区管理员22")
    s = http_session(world_engine, live_server, "adm_c22")
    for path, table in (("/admin/departments", "departments-table"), ("/admin/visits", "plans-table")):
        page = page_content(s, live_server, path)
        assert table in page and "此处只读" in page and "adm-dept-save" not in page and "adm-plan-save" not in page
    resp = dash_call(s, live_server, cockpit_app, "plan_action", trigger="adm-plan-save",
                     values={"adm-plan-path.value": "elderly_alone.every_days", "adm-plan-value.value": "3"})
    assert "只有全市或街道管理员" in flat(resp)
    toggle = {"department": "gas", "do": "off", "type": "adm-dept-toggle"}
    resp = dash_call(s, live_server, cockpit_app, "dept_action", trigger=toggle, pattern=[toggle])
    assert "只有全市或街道管理员" in flat(resp)
    forged = {"department": "no-such-department", "do": "off", "type": "adm-dept-toggle"}
    admin = http_session(world_engine, live_server, "admin")
    assert dash_call(admin, live_server, cockpit_app, "dept_action", trigger=forged, pattern=[forged]).status_code == 403
    with world_engine.connect() as conn:
        assert effective_plans(conn)[0].every_days == 7 and disabled_departments(conn) == set()
