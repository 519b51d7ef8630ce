"""People registry on the screen: map figures equal independent SQL, small counts read "<3" on the map,
每百户事件 divides by the registry's households, and the /people page and its export over real HTTP."""
from __future__ import annotations

import csv
import io
import json

import pytest
import requests
from sqlalchemy import select, text

from governance.reports.area_stats import child_figures
from governance.models import AccessLog, Area
from governance.alerts.warnings import load_rules

from .conftest import WORLD_NOW, http_session, screenshot

SPECIAL_SQL = ("SELECT COUNT(*) FROM resident r JOIN household h ON h.id = r.household_id "
               "WHERE r.closed_at IS NULL AND r.groups <> '' AND h.area_path LIKE :p")


def _path(conn, code):
    return conn.execute(select(Area.path).where(Area.code == code)).scalar()


def test_map_figures_are_the_registry_counted_independently(world_engine):
    acc = world_engine.accounts
    with world_engine.connect() as conn:
        figures = child_figures(conn, _path(conn, acc["focus"]), "community", "year", WORLD_NOW, load_rules())
        for code in acc["communities"][:3]:
            p = _path(conn, code) + "%"
            residents = conn.execute(text("SELECT COUNT(*) FROM resident r JOIN household h ON h.id = r.household_id "
                                          "WHERE r.closed_at IS NULL AND r.residence = 'resident' "
                                          "AND h.area_path LIKE :p"), {"p": p}).scalar()
            households = conn.execute(text("SELECT COUNT(*) FROM household WHERE closed_at IS NULL "
                                           "AND area_path LIKE :p"), {"p": p}).scalar()
            premises = conn.execute(text("SELECT COUNT(*) FROM place WHERE kind = 'premises' AND closed_at IS NULL "
                                         "AND area_path LIKE :p"), {"p": p}).scalar()
            f = figures[code]
            assert (f.value("residents"), f.value("households"), f.value("premises")) == (residents, households, premises)
            assert f.value("special") == conn.execute(text(SPECIAL_SQL), {"p": p}).scalar()
            # 每百户事件 divides by the registry's households
            assert f.households == households and 8000 < residents < 25000  # a Chengdu community
            assert f.per100 == 100.0 * f.received / households


def test_demo_world_rates_are_plausible(world_engine):
    with world_engine.connect() as conn:
        total, old = conn.execute(text("SELECT COUNT(*), SUM(CASE WHEN birth_year <= 2026 - 60 THEN 1 ELSE 0 END) "
                                       "FROM resident")).one()
        households = conn.execute(text("SELECT COUNT(*) FROM household")).scalar()
        alone = conn.execute(text("SELECT COUNT(*) FROM resident WHERE groups LIKE '%,elderly_alone,%'")).scalar()
        disabled = conn.execute(text("SELECT COUNT(*) FROM resident WHERE groups LIKE '%,disabled,%'")).scalar()
    assert 2.4 < total / households < 2.9
    assert 0.18 < old / total < 0.23
    assert 0.005 < alone / total < 0.03 and 0.015 < disabled / total < 0.035


def _small_grid(conn, focus_path):
    """A general grid with a micro-grid holding 1–2 special-group residents and one holding more."""
    rows = conn.execute(text("SELECT h.area_path, COUNT(*) FROM resident r JOIN household h ON h.id = r.household_id "
                             "WHERE r.closed_at IS NULL AND r.groups <> '' AND h.area_path LIKE :p "
                             "GROUP BY h.area_path"), {"p": focus_path + "%"}).all()
    counts = dict(rows)
    by_general: dict[str, dict] = {}
    for path, n in counts.items():
        parts = path.strip("/").split("/")
        by_general.setdefault(parts[-2], {})[parts[-1]] = n
    for general, micro in sorted(by_general.items()):
        if any(n < 3 for n in micro.values()) and any(n >= 3 for n in micro.values()):
            return general, micro
    raise AssertionError("no grid with small counts")


@pytest.mark.parametrize("who", ["kiosk", "leader"])
def test_small_counts_read_under_three_on_the_wall_map(who, world_engine, live_server, page_factory):
    from governance.accounts.accounts import create_device

    with world_engine.connect() as conn:
        general, micro = _small_grid(conn, _path(conn, world_engine.accounts["focus"]))
        names = dict(conn.execute(select(Area.code, Area.name).where(Area.code.in_(list(micro)))).all())
    view = f"#area={general}&metric=special"
    if who == "kiosk":  # a wall display: its playlist opens the view
        with world_engine.begin() as conn:
            token = create_device(conn, "人口大屏", world_engine.accounts["focus"], WORLD_NOW, "test",
                                  [{"view": view, "seconds": 600}])
        page = page_factory(1920, 1080, user=None)
        page.goto(f"{live_server}/kiosk/{token}")
    else:
        page = page_factory(1920, 1080)
        page.goto(f"{live_server}/?markers=0{view}")
    page.wait_for_function("window.gridCockpit.drawn.micro_grid && window.gridCockpit.drawn.micro_grid.size > 0",
                           timeout=30000)
    page.wait_for_function("document.querySelector('#map-metric input[value=special]').checked", timeout=20000)
    texts = page.evaluate("codes => Object.fromEntries(codes.map(c => [c, window.gridCockpit.layers[c] ? "
                          "window.gridCockpit.layers[c].getTooltip()._content(window.gridCockpit.layers[c])"
                          ".textContent : null]))", list(micro))
    for code, n in micro.items():
        expected = "<3（人）" if n < 3 else f"{n:,}（人）"
        assert texts[code] == f"{names[code]}：{expected}", (code, n, texts[code])
    screenshot(page, f"people-map-special-{who}")


def test_people_page_lists_masked_rows_and_export_is_logged(world_engine, live_server, page_factory):
    comm = world_engine.accounts["communities"][0]
    with world_engine.connect() as conn:
        p = _path(conn, comm)
        expected = conn.execute(text("SELECT COUNT(DISTINCT h.id) FROM household h JOIN resident r ON r.household_id = h.id "
                                     "WHERE h.closed_at IS NULL AND r.closed_at IS NULL AND r.groups LIKE '%,disabled,%' "
                                     "AND h.area_path LIKE :p"), {"p": p + "%"}).scalar()
        clear = conn.execute(text("SELECT r.name, r.phone FROM resident r JOIN household h ON h.id = r.household_id "
                                  "WHERE r.groups LIKE '%,disabled,%' AND r.phone IS NOT NULL AND h.area_path LIKE :p "
                                  "ORDER BY r.id LIMIT 1"), {"p": p + "%"}).one()
    leader = http_session(world_engine, live_server, "community")
    resp = leader.get(f"{live_server}/api/v1/people.csv", params={"area": comm, "group": "disabled"}, timeout=60)
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert len(rows) - 1 == expected > 0
    assert clear.phone not in resp.text and all("*" in n for r in rows[1:] for n in r[3].split("、"))
    with world_engine.connect() as conn:
        logged = conn.execute(select(AccessLog.actor, AccessLog.target).where(AccessLog.action == "people_export")
                              .order_by(AccessLog.id.desc())).first()
    assert logged.target == comm and "community" in logged.actor
    # the wall and a portal embed get no personal rows
    for client in (requests.Session(), http_session(world_engine, live_server, "viewer")):
        assert client.get(f"{live_server}/api/v1/people.csv", params={"area": comm}, timeout=30).status_code in (302, 401, 403)
    page = page_factory(1366, 768, user="community")
    page.goto(f"{live_server}/people?area={comm}&group=disabled")
    page.wait_for_selector("#people-table")
    shown = page.locator("#people-table tbody tr").count()
    assert shown == min(expected, 500)
    assert clear.phone not in page.inner_text("body")
    assert page.locator("#people-export").count() == 1
    screenshot(page, "people-page")


def test_unmask_needs_a_reason_and_is_logged(world_engine, live_server, page_factory):
    comm = world_engine.accounts["communities"][0]
    page = page_factory(1366, 768, user="community")
    page.goto(f"{live_server}/people?area={comm}&group=elderly_alone")
    page.wait_for_selector("#people-table button.unmask")
    first = page.locator("#people-table tbody tr").first
    first.locator("button.unmask").click()
    page.wait_for_function("document.querySelector('#people-table tbody tr .people-clear').innerText.length > 0")
    assert "请先在上方填写查看原因" in first.locator(".people-clear").inner_text()
    with world_engine.connect() as conn:
        before = conn.execute(select(AccessLog.id).where(AccessLog.action == "people_unmask")).all()
    page.fill("#people-reason", "入户走访前核对联系人")
    first.locator("button.unmask").click()
    page.wait_for_function("!document.querySelector('#people-table tbody tr .people-clear').innerText.includes('请先')")
    shown = first.locator(".people-clear").inner_text()
    with world_engine.connect() as conn:
        log = conn.execute(select(AccessLog).where(AccessLog.action == "people_unmask").order_by(AccessLog.id.desc())).first()
        hid = int(log.target.split(":")[1])
        names = conn.execute(text("SELECT name FROM resident WHERE household_id = :h AND closed_at IS NULL ORDER BY id"),
                             {"h": hid}).scalars().all()
    assert len(before) == 0 or log.id > before[-1].id
    assert log.detail == "入户走访前核对联系人" and all(n in shown for n in names)
    screenshot(page, "people-unmask")


def test_unmask_outside_the_callers_scope_is_refused_and_not_logged(world_engine):
    """Defence behind the request guard: the unmask itself keeps to the caller's scope."""
    from governance.people import people_list
    from governance.models import Household
    from governance.core.scope import subtree

    acc = world_engine.accounts
    with world_engine.begin() as conn:
        path_a, path_b = (conn.execute(select(Area.path).where(Area.code == c)).scalar()
                          for c in (acc["communities"][0], acc["communities"][1]))
        hid = conn.execute(select(Household.id).where(subtree(Household.area_path, path_b))
                           .order_by(Household.id).limit(1)).scalar()
        logged = conn.execute(select(AccessLog.id).where(AccessLog.action == "people_unmask")).all()
        refused = people_list.unmask_household(conn, hid, "测试", "核实身份信息", WORLD_NOW,
                                               within=subtree(Household.area_path, path_a))
        allowed = people_list.unmask_household(conn, hid, "测试", "核实身份信息", WORLD_NOW,
                                               within=subtree(Household.area_path, path_b))
        after = conn.execute(select(AccessLog.id).where(AccessLog.action == "people_unmask")).all()
    assert "不在您的权限范围内" in refused and "*" not in allowed and allowed != refused
    assert len(after) == len(logged) + 1  # only the allowed one
