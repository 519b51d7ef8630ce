"""Every route and every callback × every role: allowed or refused exactly as designed (over real HTTP).

The design is written out below, independently of the code's own tables; a route, callback or page
the design does not mention fails the declaration tests, so nothing new ships unguarded.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text

from dashboard.cockpit_first import layout_url, split_page
from governance.core.embed_tokens import mint_embed_token
from governance.models import Event

from .conftest import TEST_SECRET, WORLD_NOW, http_session

PEOPLE = ["admin", "leader", "community", "community_b", "gridworker", "viewer"]
DEPT = "dept"  # a department account (吹哨报到): its own 报到 requests only, no cockpit
ROLES = ["anonymous", *PEOPLE, DEPT, "kiosk", "embed"]
EVERYONE_SIGNED_IN = set(ROLES) - {"anonymous"}
VIEWERS = EVERYONE_SIGNED_IN - {DEPT}  # every other principal sees the cockpit (scope decides what)
LEDGER = set(PEOPLE)
EXPORTERS = {"admin", "leader", "community", "community_b"}
DISPATCHERS = EXPORTERS
UNMASKERS = EXPORTERS

# Callbacks by the function they run → who may call it. A callback not listed here fails the test.
CALLBACK_DESIGN = {
    "render": VIEWERS, "render_trends": VIEWERS, "render_tiles": VIEWERS, "show_event": VIEWERS,
    "refresh_table": LEDGER, "open_detail": LEDGER, "bulk": DISPATCHERS,
    "act": DISPATCHERS, "unmask": UNMASKERS,
    "unmask_household": EXPORTERS,  # 人口底数: full names with a logged reason (#19)
    "start": {"admin", "leader"}, "show": {"admin", "leader"},
    # Its task link is the credential: without one, nobody (tests/test_task_links.py walks a real link).
    "generate_brief": EXPORTERS,  # 工作简报: leaders and community staff, for their own area
    "worker_card": set(),
    # Admin console and audit (#22): admins only; the wall takes its saved playlist (a no-op for others).
    **{name: {"admin"} for name in ("people_action", "devices_action", "playlist_load", "playlist_preview",
                                    "clients_action", "settings_pick", "settings_action", "audit_refresh")},
    "wall_playlist": VIEWERS,
    "whistle_act": {"admin", DEPT}, "dept_figures": LEDGER, "points_board": LEDGER,  # issue #20
    "shelve_clicked": {"admin", "leader", "community", "community_b"},  # 督办与搁置 (#18)
    # 统一表单推送 (#19): leaders and community staff compose, push and watch; a grid worker answers their own
    "push": EXPORTERS, "show_progress": EXPORTERS, "submit_form": {"admin", "gridworker"},
    "start_campaign": EXPORTERS, "show_campaigns": EXPORTERS,  # 敲门行动 (#19): leaders and community staff
}
# Pages (path → who sees the page's content).
PAGE_DESIGN = {
    "/": VIEWERS, "/embed": VIEWERS, "/events": LEDGER, "/rules": set(PEOPLE),
    "/drill": {"admin", "leader"}, "/quarantine": {"admin"}, "/worker/x": set(ROLES),
    "/briefs": EXPORTERS,
    "/people": EXPORTERS,  # 人口底数 (#19): masked lists for leaders and community staff, never walls or embeds
    "/forms": EXPORTERS, "/worker/forms": {"admin", "gridworker"},  # 统一表单推送 (#19)
    "/campaigns": EXPORTERS,  # 敲门行动 (#19): aggregates for leaders and community staff, never walls or embeds
    **{path: {"admin"} for path in ("/admin/people", "/admin/devices", "/admin/clients", "/admin/settings", "/audit")},
    "/dept": {"admin", DEPT}, "/dept-response": LEDGER, "/points": LEDGER,
    "/alarm-quality": {"admin", "leader", "community", "community_b"},
    "/supervision": {"admin", "leader", "community", "community_b"},
}
# 管理 · 职能部门 and 走访计划 (#22): admins only (only those whose subtree holds the deployment may save)
CALLBACK_DESIGN.update({name: {"admin"} for name in ("dept_pick", "dept_action", "plan_pick", "plan_action")})
PAGE_DESIGN.update({"/admin/departments": {"admin"}, "/admin/visits": {"admin"}})


def route_design(acc: dict, drill: str = "x") -> dict:
    """Sample request per Flask endpoint → roles that get a 2xx/3xx (the area is community A, `drill` a drill in it)."""
    a = acc["communities"][0]
    in_a = {"admin", "leader", "community", "viewer", "kiosk", "embed"}  # whose scope holds community A
    return {
        "static": ("GET", "/static/none.css", set()),  # Flask's default static folder does not exist
        "_dash_assets.static": ("GET", "/assets/cockpit.css", set(ROLES)),
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>":
            ("GET", "/_dash-component-suites/dash/deps/react@18.v4_4_1m1.3.1.min.js", set(ROLES)),
        "/_favicon.ico": ("GET", "/_favicon.ico", set(ROLES)),
        "/_reload-hash": ("GET", "/_reload-hash", set(ROLES)),  # hot-reload hash (empty unless debug)
        "/_dash-layout": ("GET", "/_dash-layout", set(ROLES)),
        "/_dash-dependencies": ("GET", "/_dash-dependencies", set(ROLES)),
        "/_dash-update-component": ("POST", None, None),  # covered callback by callback below
        # Page HTML is the same empty shell for everyone (anonymous: 302 to /login); content is per page.
        "/": ("GET", "/", set(ROLES)),
        "/<path:path>": ("GET", "/events", set(ROLES)),
        "auth_routes.login_form": ("GET", "/login", set(ROLES)),
        "auth_routes.login_submit": ("POST", "/login", set()),  # no form token: 400 for everyone
        "auth_routes.logout": ("POST", "/logout", set(PEOPLE) | {"kiosk", DEPT}),
        "auth_routes.kiosk_open": ("GET", "/kiosk/not-a-device", set()),
        "auth_routes.mint_embed": ("POST", "/api/v1/embed-tokens", set()),  # needs an embed client's bearer
        "health.health_json": ("GET", "/api/v1/health", set(ROLES)),
        "push.push_events": ("POST", "/api/v1/events", set()),  # needs a push client's bearer
        "live.changes": ("GET", "/api/v1/changes?once=1", VIEWERS),  # once=1: the first message, then the end
        "geo.area_geobuf": ("GET", f"/api/v1/geo/{a}/general_grid.pbf", in_a),
        "geo.area_tile": ("GET", f"/api/v1/geo/{a}/micro_grid/16/0/0.pbf", in_a),  # an empty tile is still a 200
        "geo.warning_points": ("GET", f"/api/v1/warnings/{a}.geojson", in_a),
        "export.events_csv": ("GET", f"/api/v1/events.csv?area={a}", EXPORTERS - {"community_b"}),
        "export.events_xlsx": ("GET", f"/api/v1/events.xlsx?area={a}", EXPORTERS - {"community_b"}),
        # a stored 工作简报 of community A: its leaders; community B's staff get 404 like an unknown one
        "briefs.brief_pdf": ("GET", f"/api/v1/briefs/{acc.get('brief_a', 0)}.pdf", EXPORTERS - {"community_b"}),
        "briefs.brief_xlsx": ("GET", f"/api/v1/briefs/{acc.get('brief_a', 0)}.xlsx", EXPORTERS - {"community_b"}),
        # The phone's queue: its X-Task-Credential is the credential (none here: refused for everyone).
        "worker_api.worker_action": ("POST", "/api/v1/worker/actions", set()),
        # 关爱走访 from the phone: a signed-in worker's own visit task only (no request id here: refused for all)
        "visit_api.visit_action": ("POST", "/api/v1/worker/visits", set()),
        # A photo of an event in community A, outside the test grid worker's grid (tests/photo_helpers.py).
        "worker_api.photo_file": ("GET", f"/api/v1/photos/{acc.get('photo_a', 0)}", LEDGER & in_a),
        "people_export.people_csv": ("GET", f"/api/v1/people.csv?area={a}", EXPORTERS - {"community_b"}),
        # the answers of a form pushed to community A: its leaders (form_id screened, logged)
        "form_export.form_csv": ("GET", f"/api/v1/forms/{acc.get('form_a', 0)}/answers.csv", EXPORTERS - {"community_b"}),
        "form_export.form_xlsx": ("GET", f"/api/v1/forms/{acc.get('form_a', 0)}/answers.xlsx", EXPORTERS - {"community_b"}),
        # a photo answer of an assignment in community A: its leaders; community B's staff get 404 (#19)
        "form_export.form_photo": ("GET", f"/api/v1/form-photos/{acc.get('form_photo_a', 0)}", EXPORTERS - {"community_b"}),
        # a one-time password link is its own credential: an unknown one is refused for everyone
        "admin_routes.reset_form": ("GET", "/reset/not-a-link", set()),
        "admin_routes.reset_submit": ("POST", "/reset/not-a-link", set()),
        "admin_routes.audit_csv": ("GET", f"/api/v1/audit.csv?area={a}", {"admin"}),
        "admin_routes.audit_xlsx": ("GET", f"/api/v1/audit.xlsx?area={a}", {"admin"}),
        "participation.rider_points_csv": ("GET", f"/api/v1/rider-points.csv?area={a}", EXPORTERS - {"community_b"}),
        "participation.drill_print": ("GET", f"/drill/{drill}/print", {"admin", "leader"}),
    }


STARTED_DRILLS: list[str] = []


def drill_in_a(world_engine) -> str:
    """A drill held in community A (started once per world; removed again when this module ends)."""
    from governance.events.drills import start_drill

    a = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        key = conn.execute(text("SELECT e.source_key FROM event e JOIN area a ON e.area_path LIKE a.path || '%' "
                                "WHERE a.code = :c AND e.source = 'drill' ORDER BY e.id LIMIT 1"), {"c": a}).scalar()
        if key is None:
            STARTED_DRILLS.append(start_drill(conn, a, 1, "test", WORLD_NOW, seed=42))
            return STARTED_DRILLS[-1]
    return key[len("DRILL-"):].rsplit("-", 1)[0]


@pytest.fixture(scope="module", autouse=True)
def _remove_started_drills(world_engine):
    """The shared world keeps no drill of this module (other tests count the drills they start)."""
    yield
    with world_engine.begin() as conn:
        for drill in STARTED_DRILLS:
            ids = {"k": f"DRILL-{drill}-%"}
            conn.execute(text("DELETE FROM event_audit WHERE event_id IN (SELECT id FROM event WHERE source = 'drill' "
                              "AND source_key LIKE :k)"), ids)
            conn.execute(text("DELETE FROM event WHERE source = 'drill' AND source_key LIKE :k"), ids)
    STARTED_DRILLS.clear()


def whistle_in_a(world_engine) -> int:
    """A 报到 request of the test department (物业) on an event of community A (made once per world)."""
    from governance.models import Whistle

    a = world_engine.accounts["communities"][0]
    with world_engine.begin() as conn:
        wid = conn.execute(text("SELECT w.id FROM whistle w JOIN area a ON w.area_path LIKE a.path || '%' "
                                "WHERE a.code = :c AND w.department_code = 'property' ORDER BY w.id LIMIT 1"),
                           {"c": a}).scalar()
        if wid is None:
            ev = conn.execute(text("SELECT e.id, e.area_path FROM event e JOIN area a ON e.area_path LIKE a.path || '%' "
                                   "WHERE a.code = :c AND e.status = 'closed' ORDER BY e.id LIMIT 1"), {"c": a}).one()
            wid = conn.execute(Whistle.__table__.insert().returning(Whistle.id), [{
                "event_id": ev.id, "department_code": "property", "area_path": ev.area_path, "status": "replied",
                "created_at": WORLD_NOW - timedelta(days=3), "created_by": "test",
                "due_at": WORLD_NOW - timedelta(days=2), "checked_in_at": WORLD_NOW - timedelta(days=3),
                "replied_at": WORLD_NOW - timedelta(days=3), "reply": "已处理"}]).scalar_one()
    return wid


def make_client(role: str, world_engine, live_server) -> requests.Session:
    """An HTTP client acting as `role`: a session for people and the wall, a header token for the embed."""
    from governance.accounts.accounts import create_device
    from governance.models import KioskDevice

    acc = world_engine.accounts
    if role in PEOPLE or role == DEPT:
        return http_session(world_engine, live_server, role)
    if role == "kiosk":
        with world_engine.begin() as conn:
            if conn.execute(select(KioskDevice.id).where(KioskDevice.name == "矩阵测试大屏")).first() is None:
                create_device(conn, "矩阵测试大屏", acc["focus"], WORLD_NOW, "test")
            device = conn.execute(select(KioskDevice.id).where(KioskDevice.name == "矩阵测试大屏")).scalar()
        return http_session(world_engine, live_server, None, device_id=device)
    client = requests.Session()
    if role == "embed":
        client.headers["X-Embed-Token"] = mint_embed_token(TEST_SECRET, acc["focus"], WORLD_NOW, ttl=timedelta(hours=1))
    return client


@pytest.fixture(scope="module", autouse=True)
def brief_of_a(world_engine):
    """A stored weekly 工作简报 of community A (the download routes' sample)."""
    from governance.reports.briefs import generate

    if "brief_a" not in world_engine.accounts:
        world_engine.accounts["brief_a"] = generate(world_engine, world_engine.accounts["communities"][0], "weekly",
                                                    WORLD_NOW, actor="test")
    return world_engine.accounts["brief_a"]


@pytest.fixture(scope="module", autouse=True)
def form_photo_of_a(world_engine, form_of_a, live_server):
    """A stored photo answer of an assignment of community A's form (the form photo route's sample, #19)."""
    from dashboard.runtime import current
    from governance.events import photos
    from governance.people import forms

    from .photo_helpers import make_jpeg

    if "form_photo_a" not in world_engine.accounts:
        prepared = photos.prepare(make_jpeg(), "image/jpeg", 10 * 1024 * 1024, keep_location=False)
        names = photos.write_files(current().settings.photo_dir, prepared, WORLD_NOW)
        with world_engine.begin() as conn:
            aid, staff = conn.execute(text("SELECT id, staff_id FROM form_assignment WHERE form_id = :f "
                                           "ORDER BY id LIMIT 1"), {"f": form_of_a}).one()
            world_engine.accounts["form_photo_a"] = forms.record_photo(conn, aid, "q1", staff, "test", WORLD_NOW,
                                                                       prepared, names)
    return world_engine.accounts["form_photo_a"]


@pytest.fixture(scope="module", autouse=True)
def form_of_a(world_engine):
    """A 统一表单 pushed to the workers of community A (the export routes' and the answer callback's sample)."""
    from governance.people import forms

    if "form_a" not in world_engine.accounts:
        with world_engine.begin() as conn:
            path = conn.execute(text("SELECT path FROM area WHERE code = :c"),
                                {"c": world_engine.accounts["communities"][0]}).scalar()
            world_engine.accounts["form_a"] = forms.push_form(
                conn, "矩阵表单", forms.validate_questions([{"text": "是否正常", "kind": "yesno"}]), "workers", path,
                "test", WORLD_NOW)[0]
    return world_engine.accounts["form_a"]


@pytest.fixture(scope="module")
def clients(world_engine, live_server):
    """One HTTP client per role (and a stored photo in community A for the photo route)."""
    from .photo_helpers import matrix_photo

    world_engine.accounts["photo_a"] = matrix_photo(world_engine)
    return {role: make_client(role, world_engine, live_server) for role in ROLES}


def _callback_name(entry) -> str:
    fn = entry["callback"]
    while getattr(fn, "__wrapped__", None) is not None and not hasattr(fn, "__access__"):
        fn = fn.__wrapped__
    return getattr(fn, "__wrapped__", fn).__name__


def _server_callbacks(app) -> dict:
    return {k: v for k, v in app.callback_map.items() if "_pages_content" not in k and "callback" in v}


def test_every_route_callback_and_page_is_declared(cockpit_app, live_server, world_engine):
    import dash

    from dashboard.auth import ROUTE_ACCESS

    requests.get(live_server + "/login")  # Dash fills its callback map on the first request
    endpoints = {r.endpoint for r in cockpit_app.server.url_map.iter_rules()}
    assert endpoints - set(ROUTE_ACCESS) == set(), "endpoints without an access rule"
    assert endpoints == set(route_design(world_engine.accounts)), "endpoints missing from this test's design"
    names = {_callback_name(e): getattr(e["callback"], "__access__", None)
             for e in _server_callbacks(cockpit_app).values()}
    assert {n for n, acc in names.items() if acc is None} == set(), "callbacks without @requires"
    assert set(names) == set(CALLBACK_DESIGN), "callbacks missing from this test's design"
    paths = {p["path"] if "worker" not in p["path"] or p["path"] == "/worker/forms" else "/worker/x"
             for p in dash.page_registry.values() if "layout" in p}
    assert paths == set(PAGE_DESIGN)


@pytest.mark.parametrize("role", ROLES)
def test_routes_follow_the_design(role, clients, world_engine, live_server):
    failures = []
    for endpoint, (method, url, allowed) in route_design(world_engine.accounts, drill_in_a(world_engine)).items():
        if url is None:
            continue
        client = make_client(role, world_engine, live_server) if endpoint == "auth_routes.logout" else clients[role]
        resp = client.request(method, live_server + url, allow_redirects=False, timeout=30)
        ok = resp.status_code < 400
        if role == "anonymous" and endpoint in ("/", "/<path:path>"):
            ok = resp.status_code == 302 and resp.headers["Location"].startswith("/login")
        if ok != (role in allowed):
            failures.append((endpoint, url, resp.status_code))
    assert failures == []


MATCH_IDS: dict = {}  # pattern key → the id a MATCH names instead of the event (set per role below)


def _dep(dep: dict, event_id: int):
    """A concrete request entry for a callback dependency: wildcards ALL → none, MATCH → event_id."""
    if dep["id"].startswith("{"):
        ident = json.loads(dep["id"])
        if ["ALL"] in ident.values():
            return []
        ident = {k: MATCH_IDS.get(k, event_id) if v == ["MATCH"] else v for k, v in ident.items()}
        return {"id": ident, "property": dep["property"], "value": None}
    return {"id": dep["id"], "property": dep["property"], "value": None}


def _outputs(key: str, event_id: int):
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        outs.append(_dep({"id": ident, "property": prop}, event_id))
    return outs if key.startswith("..") else outs[0]


def callback_payload(key: str, entry: dict, event_id: int) -> dict:
    """The body Dash's renderer would post for a callback, with every value None."""
    return {"output": key, "outputs": _outputs(key, event_id),
            "inputs": [_dep(d, event_id) for d in entry["inputs"]],
            "state": [_dep(d, event_id) for d in entry["state"]], "changedPropIds": []}


@pytest.mark.parametrize("role", ROLES)
def test_callbacks_follow_the_design(role, clients, cockpit_app, world_engine, live_server):
    requests.get(live_server + "/login")
    acc = world_engine.accounts
    home = {"community": acc["communities"][0], "community_b": acc["communities"][1], "gridworker": acc["grid"]}
    with world_engine.connect() as conn:  # an event the role may name: this matrix is about permissions
        event_id = conn.execute(text("SELECT e.id FROM event e JOIN area a ON e.area_path LIKE a.path || '%' "
                                     "WHERE a.code = :c ORDER BY e.id LIMIT 1"),
                                {"c": home.get(role, acc["focus"])}).scalar()
        MATCH_IDS["household"] = conn.execute(text(  # a household of the role's home (people registry, #19)
            "SELECT h.id FROM household h JOIN area a ON h.area_path LIKE a.path || '%' WHERE a.code = :c "
            "ORDER BY h.id LIMIT 1"), {"c": home.get(role, acc["focus"])}).scalar()
        MATCH_IDS["a"] = conn.execute(text(  # a form assignment of the role's home (统一表单推送, #19)
            "SELECT f.id FROM form_assignment f JOIN area a ON f.area_path LIKE a.path || '%' WHERE a.code = :c "
            "ORDER BY f.id LIMIT 1"), {"c": home.get(role, acc["focus"])}).scalar()
    whistle = whistle_in_a(world_engine)
    failures = []
    for key, entry in _server_callbacks(cockpit_app).items():
        name = _callback_name(entry)
        payload = callback_payload(key, entry, event_id)
        for dep in [*payload["inputs"], *payload["state"], payload["outputs"]]:  # a 报到 request names a whistle
            for item in dep if isinstance(dep, list) else [dep]:
                if isinstance(item["id"], dict) and "whistle" in item["id"]:
                    item["id"]["whistle"] = whistle
        resp = clients[role].post(live_server + "/_dash-update-component", json=payload, timeout=60)
        refused = resp.status_code in (401, 403)
        assert resp.status_code in (200, 204, 401, 403), (name, role, resp.status_code, resp.text[:300])
        if refused == (role in CALLBACK_DESIGN[name]):
            failures.append((name, resp.status_code))
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_pages_follow_the_design(role, clients, live_server):
    """Dash's page router renders a page's content only for roles its design allows."""
    failures = []
    for path, allowed in PAGE_DESIGN.items():
        body = {"output": ".._pages_content.children..._pages_store.data..",
                "outputs": [{"id": "_pages_content", "property": "children"},
                            {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                           {"id": "_pages_location", "property": "search", "value": ""}],
                "state": [], "changedPropIds": ["_pages_location.pathname"]}
        resp = clients[role].post(live_server + "/_dash-update-component", json=body, timeout=60)
        assert resp.status_code == 200, (path, role, resp.text[:300])
        content = json.dumps(resp.json()["response"]["_pages_content"]["children"], ensure_ascii=False)
        shown = "无权访问" not in content and "请先登录" not in content
        if shown != (role in allowed):
            failures.append((path, content[:120]))
        # The same page named on the layout request (dashboard/cockpit_first.py): laid out there for the
        # cockpit pages, under the same design; any other page is left to the router (no content).
        resp = clients[role].get(live_server + layout_url("/", path), timeout=60)
        assert resp.status_code == 200, (path, role, resp.text[:300])
        laid = _pages_content(resp.json())
        if split_page(path) is None:
            if laid is not None:
                failures.append(("layout " + path, "laid out a page the router should build"))
            continue
        content = json.dumps(laid, ensure_ascii=False)
        shown = "无权访问" not in content and "请先登录" not in content
        if shown != (role in allowed):
            failures.append(("layout " + path, content[:120]))
    assert failures == []


def _pages_content(layout) -> object:
    """The children of Dash pages' content holder in a serialised layout (None when it has none)."""
    stack = [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            props = node.get("props") or {}
            if props.get("id") == "_pages_content":
                return props.get("children")
            stack.append(props.get("children"))
    return None


def test_csrf_is_required_for_cookie_sessions(clients, cockpit_app, world_engine, live_server):
    """The same dispatch call without the CSRF header, or from another origin, is refused."""
    key, entry = next((k, e) for k, e in _server_callbacks(cockpit_app).items() if _callback_name(e) == "act")
    with world_engine.connect() as conn:
        event_id = conn.execute(select(Event.id).limit(1)).scalar()
    leader = clients["leader"]
    payload = callback_payload(key, entry, event_id)
    no_header = requests.post(live_server + "/_dash-update-component", json=payload, cookies=leader.cookies)
    assert no_header.status_code == 403
    cross = leader.post(live_server + "/_dash-update-component", json=payload,
                        headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert leader.post(live_server + "/_dash-update-component", json=payload).status_code in (200, 204)
