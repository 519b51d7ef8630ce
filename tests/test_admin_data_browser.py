"""管理 · 走访计划 and 职能部门 in headless Chromium (#22): an admin changes a visit interval and a department's name,
sees the diff, an invalid value is refused with the start-up check's message, 停用 takes a department out of
the dispatch suggestions, and every change is on /audit."""
from __future__ import annotations

import yaml
from sqlalchemy import select

from governance.core.access import Principal
from governance.events.department_settings import save
from governance.events.dispatch import suggest_assignees
from governance.models import Department, Event
from governance.people.groups import CONFIG_FILE
from governance.console.plan_settings import effective_plans
from governance.console.plan_settings import save as save_plan
from governance.core.taxonomy import TAXONOMY_FILE, TaxonomyError, load_taxonomy
from governance.people.visits import parse_plans

from .conftest import WORLD_NOW, screenshot
from .test_admin_browser import _pick

CITY = Principal(kind="user", name="test", role="admin", scope=("/",))
LONG = "燃" * 61


def _startup_messages(tmp_path) -> tuple[str, str]:
    """What the start-up checks say about an interval of 0 days and a 61-character department name."""
    plans = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))["visit_plans"]
    plans[0]["every_days"] = 0
    try:
        parse_plans(plans)
        raise AssertionError("the start-up check accepted 0 days")
    except ValueError as exc:
        plan_message = str(exc)
    doc = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    next(d for d in doc["departments"] if d["code"] == "gas")["name"] = LONG
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        load_taxonomy(bad)
        raise AssertionError("the start-up check accepted a 61-character name")
    except TaxonomyError as exc:
        return plan_message, str(exc)


def test_visit_plans_and_departments_in_a_browser(world_engine, live_server, page_factory, tmp_path):
    plan_message, dept_message = _startup_messages(tmp_path)
    with world_engine.connect() as conn:
        gas_event = conn.execute(select(Event.id).where(Event.category_code == "1101").order_by(Event.id)).scalar()
    admin = page_factory(1600, 1000, user="admin")
    try:
        # 走访计划: 0 days is refused with the start-up message; 3 days shows its diff, is saved and in force
        admin.goto(live_server + "/admin/visits")
        admin.wait_for_selector(".plans-table td:has-text('独居老人')")
        _pick(admin, "adm-plan-path", "elderly_alone.every_days")
        admin.wait_for_function("document.querySelector('#adm-plan-value').value === '7'")
        admin.fill("#adm-plan-value", "0")
        admin.click("#adm-plan-save")
        assert admin.locator(".rules-error").inner_text(timeout=15000) == plan_message
        with world_engine.connect() as conn:
            assert effective_plans(conn)[0].every_days == 7  # nothing stored
        admin.fill("#adm-plan-value", "3")
        admin.click("#adm-plan-check")
        admin.wait_for_selector("#adm-plan-diff:has-text('every_days: 3')")
        assert "every_days: 7" in admin.inner_text("#adm-plan-diff")
        admin.click("#adm-plan-save")
        admin.wait_for_selector(".admin-msg:has-text('已保存并生效')")
        admin.wait_for_selector(".plans-table tr:has-text('独居老人') td.changed:has-text('3')")
        screenshot(admin, "admin-visit-plans")
        with world_engine.connect() as conn:
            assert effective_plans(conn)[0].every_days == 3

        # 职能部门: a 61-character name is refused with the start-up message; a new name shows its diff and is used
        admin.click("a.back-link:has-text('职能部门')")
        admin.wait_for_selector(".departments-table td:has-text('燃气公司抢修中心')")
        _pick(admin, "adm-dept-path", "taxonomy:gas.name")
        admin.wait_for_function("document.querySelector('#adm-dept-value').value === '燃气公司抢修中心'")
        admin.fill("#adm-dept-value", LONG)
        admin.click("#adm-dept-save")
        assert admin.locator(".rules-error").inner_text(timeout=15000) == dept_message
        screenshot(admin, "admin-departments-refused")
        admin.fill("#adm-dept-value", "燃气抢修中心（东片）")
        admin.click("#adm-dept-check")
        admin.wait_for_selector("#adm-dept-diff:has-text('燃气抢修中心（东片）')")
        admin.click("#adm-dept-save")
        admin.wait_for_selector(".admin-msg:has-text('已保存并生效')")
        admin.wait_for_selector(".departments-table td.changed:has-text('燃气抢修中心（东片）')")
        # 停用 the safety office: out of the dispatch suggestions at once
        admin.locator("tr", has_text="街道应急（安监）办").locator("button", has_text="停用").click()
        admin.wait_for_selector(".admin-msg:has-text('已停用')")
        admin.wait_for_selector(".departments-table tr:has-text('街道应急（安监）办') .state-off")
        screenshot(admin, "admin-departments")
        with world_engine.connect() as conn:
            assert conn.execute(select(Department.name).where(Department.code == "gas")).scalar() == "燃气抢修中心（东片）"
            if gas_event is not None:
                names = {d["code"]: d["name"] for d in suggest_assignees(conn, gas_event, WORLD_NOW)[1]}
                assert names == {"gas": "燃气抢修中心（东片）"}

        # /audit: the three changes with before and after
        admin.goto(live_server + "/audit")
        admin.click("text=管理变更")
        admin.wait_for_selector(".audit-changes td:has-text('修改走访计划')")
        assert admin.locator(".audit-changes td:has-text('修改职能部门')").count() >= 2
        row = admin.locator(".audit-changes tr", has_text="people:elderly_alone.every_days").first.inner_text()
        assert "7" in row and "3" in row
        screenshot(admin, "admin-audit-data-settings")
    finally:
        with world_engine.begin() as conn:
            save_plan(conn, CITY, "elderly_alone.every_days", None, WORLD_NOW)
            save(conn, CITY, "taxonomy:gas.name", None, WORLD_NOW)
            save(conn, CITY, "taxonomy:safety_office.enabled", None, WORLD_NOW)
