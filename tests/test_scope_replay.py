"""Every callback and route, replayed with each kind of id swapped for one outside the caller's scope.

Nothing here is a hand-written list of requests: the callbacks come from the app's callback map,
the routes from Flask's URL map, and the places ids travel from dashboard/request_guard.py's
declarations. A new callback or route is replayed without editing this file; one whose input is
declared nowhere fails `test_every_callback_input_is_declared`. For each principal kind, the same
request is sent twice: with ids the principal may name (it must get past the guard) and with one
id swapped for a foreign one (it must be refused — or, for the address bar, fall back to home).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import insert, select, text

from dashboard.request_guard import ROUTE_ARGS, QUERY_IDS, key_kind, slot_of
from governance.accounts.accounts import create_device, create_user
from governance.core.embed_tokens import mint_embed_token
from governance.accounts.department_accounts import create_department_user
from governance.models import (AccessLog, ApiClient, Area, Brief, Event, EventPhoto, KioskDevice, Staff, UserAccount,
                               RaisedWarning, Whistle)
from governance.models import Household
from governance.models import FormAssignment, FormPhoto, FormPush
from governance.models import VisitCampaign

from .conftest import TEST_PASSWORD, TEST_SECRET, WORLD_NOW, http_session
from .photo_helpers import photo_in

SCOPE_REFUSED = "不在您的权限范围内"
PRINCIPALS = ["community", "community_b", "viewer_a", "gridworker", "leader", "dept_a", "kiosk_a", "embed_a", "admin_a",
              "anonymous"]
ROUTE_DEFAULTS = {"level": "general_grid", "z": 16, "x": 0, "y": 0}
VALUE_DEFAULTS = {("_pages_location", "pathname"): "/"}  # id-free values a request needs to be well formed


def _dep_key(dep: dict) -> tuple[str, str, dict | None]:
    ident = dep["id"]
    if ident.startswith("{"):
        pattern = json.loads(ident)
        return pattern["type"], dep["property"], pattern
    return ident, dep["property"], None


def _callbacks(app) -> dict:
    return {k: v for k, v in app.callback_map.items() if "callback" in v}


def _name(entry) -> str:
    fn = entry["callback"]
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    return fn.__name__


@pytest.fixture(scope="module")
def world(world_engine, live_server, cockpit_app):
    """Principals of community A (and B, and the sub-district), with ids inside and outside each one's scope."""
    from governance.events.drills import start_drill
    from governance.alerts.warning_lifecycle import sync_warnings
    from governance.alerts.warnings import load_rules

    acc = world_engine.accounts
    a, b = acc["communities"][0], acc["communities"][1]
    with world_engine.begin() as conn:
        if conn.execute(select(KioskDevice.id).where(KioskDevice.name == "重放测试大屏")).first() is None:
            create_user(conn, "viewer_a", TEST_PASSWORD, "viewer", a, WORLD_NOW)
            create_device(conn, "重放测试大屏", a, WORLD_NOW, "test")
            # admin console (#22): a community admin, and a wall and a portal client on each side of it
            create_user(conn, "admin_a", TEST_PASSWORD, "admin", a, WORLD_NOW)
            create_device(conn, "重放测试大屏B", b, WORLD_NOW, "test")
            for name, code in (("重放门户A", a), ("重放门户B", b)):
                conn.execute(insert(ApiClient), [{"name": name, "token_sha256": name.encode().hex()[:64].ljust(64, "0"),
                                                  "created_at": WORLD_NOW, "scopes": "embed", "area_code": code}])
            for seed, code in enumerate((a, b)):
                start_drill(conn, code, 1, "test", WORLD_NOW, seed=seed)
            create_department_user(conn, "dept_a", TEST_PASSWORD, "property", a, WORLD_NOW)  # 吹哨报到
            for code in (a, b):  # a 报到 request of 物业 in each community
                ev = conn.execute(select(Event.id, Event.area_path).where(
                    Event.area_path.like(f"%/{code}/%"), Event.status == "closed").order_by(Event.id).limit(1)).one()
                conn.execute(insert(Whistle), [{"event_id": ev.id, "department_code": "property",
                                                "area_path": ev.area_path, "status": "pending", "created_by": "test",
                                                "created_at": WORLD_NOW, "due_at": WORLD_NOW + timedelta(hours=8)}])
        focus_path = conn.execute(select(Area.path).where(Area.code == acc["focus"])).scalar()
        if conn.execute(select(RaisedWarning.id).where(RaisedWarning.cleared_at.is_(None))).first() is None:
            sync_warnings(conn, focus_path, WORLD_NOW, load_rules(), notify=False)
        device = conn.execute(select(KioskDevice.id).where(KioskDevice.name == "重放测试大屏")).scalar()
    from governance.reports.briefs import generate

    for code in (a, b):
        generate(world_engine, code, "weekly", WORLD_NOW, actor="test")
    for code, label in ((a, "重放测试A"), (b, "重放测试B"), (acc["grid"], "重放测试网格")):  # task photos
        photo_in(world_engine, code, label)
    push_forms_in(world_engine, (a, b))  # 统一表单推送 (#19): a form and its assignments on each side
    start_campaigns_in(world_engine, (a, b))  # 敲门行动 (#19): a campaign on each side
    clients = {name: http_session(world_engine, live_server, name)
               for name in ("community", "community_b", "viewer_a", "gridworker", "leader", "admin_a", "dept_a")}
    clients["kiosk_a"] = http_session(world_engine, live_server, None, device_id=device)
    clients["embed_a"] = requests.Session()
    clients["embed_a"].headers["X-Embed-Token"] = mint_embed_token(TEST_SECRET, a, WORLD_NOW, ttl=timedelta(hours=1))
    clients["anonymous"] = requests.Session()
    homes = {"community": a, "community_b": b, "viewer_a": a, "gridworker": acc["grid"], "leader": acc["focus"],
             "dept_a": a, "kiosk_a": a, "embed_a": a, "admin_a": a, "anonymous": None}
    with world_engine.connect() as conn:
        paths = dict(conn.execute(select(Area.code, Area.path)).all())
        ids = {name: _ids_for(conn, paths, home) for name, home in homes.items()}
    requests.get(live_server + "/login")  # Dash fills its callback map on the first request
    return {"clients": clients, "ids": ids, "homes": homes}


def _ids_for(conn, paths: dict, home: str | None) -> dict:
    """{kind: (an id inside the scope of `home`, one outside it)} — None where the world has none."""
    scope = paths.get(home, "\0")
    inside = lambda col: col.startswith(scope)  # noqa: E731

    def pick(query, want_inside: bool):
        for ident, path in conn.execute(query):
            if path is not None and inside(path) == want_inside and (want_inside or not scope.startswith(path)):
                return ident
        return None

    areas = select(Area.code, Area.path).where(Area.level.in_(("community", "general_grid", "district")))\
        .order_by(Area.level, Area.code)
    events = select(Event.id, Event.area_path).where(Event.area_path.isnot(None)).order_by(Event.id.desc()).limit(20000)
    staff = select(Staff.id, Area.path).join(Area, Area.id == Staff.area_id).order_by(Staff.id)
    warns = select(RaisedWarning.id, RaisedWarning.area_path).where(RaisedWarning.cleared_at.is_(None)).order_by(RaisedWarning.id)
    drills = select(Event.source_key, Event.area_path).where(Event.source == "drill").order_by(Event.id)
    briefs = select(Brief.id, Brief.area_path).order_by(Brief.id)
    shots = select(EventPhoto.id, Event.area_path).join(Event, Event.id == EventPhoto.event_id).order_by(EventPhoto.id)
    households = select(Household.id, Household.area_path).where(Household.area_path.isnot(None))\
        .order_by(Household.area_path, Household.id)
    anchored = lambda model: select(model.id, Area.path).join(Area, Area.code == model.area_code).order_by(model.id)  # noqa: E731
    drill_id = lambda key: key and key[len("DRILL-"):].rsplit("-", 1)[0]  # noqa: E731
    drill_paths: dict = {}
    for key, path in conn.execute(drills):
        if path is not None:
            drill_paths.setdefault(drill_id(key), []).append(path)
    form_photos = select(FormPhoto.id, FormAssignment.area_path).join(
        FormAssignment, FormAssignment.id == FormPhoto.assignment_id).order_by(FormPhoto.id)
    whistles = select(Whistle.id, Whistle.area_path).where(Whistle.department_code == "property").order_by(Whistle.id)
    return {
        "area": (home, pick(areas, False)),
        "event": (pick(events, True), pick(events, False)),
        "staff": (pick(staff, True), pick(staff, False)),
        "warning": (pick(warns, True), pick(warns, False)),
        # A drill is named only by a scope holding all of it (its report shows every community in it): own =
        # a drill wholly inside, foreign = one with no event inside (an unknown one stands in where none is).
        "drill": (next((d for d, ps in drill_paths.items() if all(inside(p) for p in ps)), None),
                  next((d for d, ps in drill_paths.items() if not any(inside(p) for p in ps)), None)
                  or "19700101000000-0000"),
        "department": ("housing", "no-such-department"),
        # 工作简报 of communities A and B (an unknown id stands in where the world has none)
        "brief": (pick(briefs, True) or 10 ** 9, pick(briefs, False) or 10 ** 9),
        "photo": (pick(shots, True), pick(shots, False)),
        "household": (pick(households, True), pick(households, False)),  # people registry (#19)
        "form": (pick(select(FormPush.id, FormPush.area_path).order_by(FormPush.id), True),
                 pick(select(FormPush.id, FormPush.area_path).order_by(FormPush.id), False)),
        "assignment": (pick(select(FormAssignment.id, FormAssignment.area_path).order_by(FormAssignment.id), True),
                       pick(select(FormAssignment.id, FormAssignment.area_path).order_by(FormAssignment.id), False)),
        **{kind: (pick(anchored(model), True), pick(anchored(model), False))
           for kind, model in (("user", UserAccount), ("device", KioskDevice), ("client", ApiClient))},
        "whistle": (pick(whistles, True), pick(whistles, False)),
        "campaign": (pick(select(VisitCampaign.id, VisitCampaign.area_path).order_by(VisitCampaign.id), True),
                     pick(select(VisitCampaign.id, VisitCampaign.area_path).order_by(VisitCampaign.id), False)),
        "form_photo": (pick(form_photos, True), pick(form_photos, False)),  # 统一表单 photo answers (#19)
    }


def _value(kind: str, ids: dict, swap: tuple[str, str] | None, where: str):
    own, foreign = ids[kind]
    return foreign if swap == (kind, where) else own


def build_request(key: str, entry: dict, ids: dict, swap: tuple[str, str] | None) -> dict:
    """The body the renderer would post for a callback: ids the principal owns, one swapped when asked."""
    def concrete(ident: dict, prop: str, value=None, many=False):
        ctype = ident["type"]
        out = {}
        for k, v in ident.items():
            if v in (["MATCH"], ["ALL"], ["ALLSMALLER"]):
                kind = key_kind(ctype, k)
                out[k] = (_value(kind, ids, swap, f"{ctype}.{k}") if kind in ids
                          else {"to": "handle", "level": "community"}.get(k, 1))
            else:
                out[k] = v
        item = {"id": out, "property": prop, "value": value}
        return [item] if many else item

    def dep(d: dict, with_value=True):
        component, prop, pattern = _dep_key(d)
        slot = slot_of(component, prop) if with_value else None  # outputs carry ids in pattern keys only
        value = VALUE_DEFAULTS.get((component, prop))
        if slot is not None and slot.kind in ids:
            value = slot.sample(_value(slot.kind, ids, swap, f"{component}.{prop}"))
        if pattern is None:
            return {"id": component, "property": prop, **({"value": value} if with_value else {})}
        return concrete(pattern, prop, value, many=["ALL"] in pattern.values())

    outputs = []
    for part in (key[2:-2].split("...") if key.startswith("..") else [key]):
        ident, prop = part.rsplit(".", 1)
        outputs.append(dep({"id": ident, "property": prop}, with_value=False))
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": [dep(d) for d in entry["inputs"]], "state": [dep(d) for d in entry["state"]],
            "changedPropIds": []}


def id_places(entry: dict) -> list[tuple[str, str, bool]]:
    """(kind, where, from the address bar) for every place a callback's request carries an id."""
    places = []
    for d in entry["inputs"] + entry["state"]:
        component, prop, pattern = _dep_key(d)
        slot = slot_of(component, prop)
        if slot is not None:
            places.append((slot.kind, f"{component}.{prop}", slot.url))
        for k, v in (pattern or {}).items():
            if v in (["MATCH"], ["ALL"], ["ALLSMALLER"]) and key_kind(component, k) not in (None, "task"):
                places.append((key_kind(component, k), f"{component}.{k}", False))
    return list(dict.fromkeys(places))


def test_every_callback_input_is_declared(cockpit_app, live_server):
    """A callback input, state or pattern key the guard does not know fails here (KeyError names it)."""
    requests.get(live_server + "/login")
    undeclared = []
    for entry in _callbacks(cockpit_app).values():
        for d in entry["inputs"] + entry["state"]:
            component, prop, pattern = _dep_key(d)
            try:
                slot_of(component, prop)
                for k in pattern or {}:
                    key_kind(component, k)
            except KeyError as exc:
                undeclared.append(str(exc))
    assert undeclared == []


@pytest.mark.parametrize("who", PRINCIPALS)
def test_callbacks_refuse_ids_outside_the_scope(who, world, cockpit_app, live_server, world_engine):
    client, ids = world["clients"][who], world["ids"][who]
    with world_engine.connect() as conn:
        logged_before = conn.execute(select(AccessLog.id).order_by(AccessLog.id.desc()).limit(1)).scalar() or 0
    failures, refused = [], 0
    for key, entry in _callbacks(cockpit_app).items():
        name = _name(entry)
        for kind, where, url in id_places(entry):
            own, foreign = ids.get(kind, (None, None))
            if foreign is None or (own is None and kind != "area"):
                continue  # the world has nothing of this kind on one side of this principal
            base = client.post(live_server + "/_dash-update-component", timeout=60,
                               json=build_request(key, entry, ids, None))
            if base.status_code in (401, 403) and SCOPE_REFUSED in base.text:
                failures.append((name, where, "own ids refused", base.text[:120]))
                continue
            resp = client.post(live_server + "/_dash-update-component", timeout=60,
                               json=build_request(key, entry, ids, (kind, where)))
            assert resp.status_code != 500, (name, where, resp.text[:300])
            if url:  # the address bar falls back to the principal's home: nothing of the foreign area comes back
                if resp.status_code < 300 and str(foreign) in resp.text:
                    failures.append((name, where, "foreign area served", str(foreign)))
            elif resp.status_code not in (401, 403):
                failures.append((name, where, "foreign id accepted", resp.status_code))
            elif base.status_code not in (401, 403):
                refused += 1  # refused by the scope check, not by a missing permission
    assert failures == []
    if who not in ("anonymous",):
        assert refused > 0
        with world_engine.connect() as conn:
            logged = conn.execute(select(AccessLog.action).where(AccessLog.id > logged_before,
                                                                 AccessLog.action == "scope_refused")).all()
        assert len(logged) >= refused


def test_each_id_place_is_exercised_past_the_permission_check(world, cockpit_app, live_server):
    """Every id place of every callback is refused for a foreign id by some principal allowed to call it."""
    exercised, places = set(), set()
    for key, entry in _callbacks(cockpit_app).items():
        for kind, where, url in id_places(entry):
            if url:
                continue
            places.add((_name(entry), where))
            for who in PRINCIPALS[:-1]:
                client, ids = world["clients"][who], world["ids"][who]
                if ids.get(kind, (None, None))[1] is None or ids[kind][0] is None:
                    continue
                base = client.post(live_server + "/_dash-update-component", json=build_request(key, entry, ids, None))
                if base.status_code in (401, 403):
                    continue
                resp = client.post(live_server + "/_dash-update-component",
                                   json=build_request(key, entry, ids, (kind, where)))
                if resp.status_code == 403 and SCOPE_REFUSED in resp.text:
                    exercised.add((_name(entry), where))
                    break
    assert places - exercised == set()


def _route_urls(app, ids: dict, swap: bool) -> list[tuple[str, str]]:
    """(endpoint, URL) for every route with an id argument in its path, and every GET data route with ?area=."""
    own, foreign = ids["area"]
    code = foreign if swap else own
    urls = []
    for rule in app.server.url_map.iter_rules():
        if rule.endpoint in ("static", "_dash_assets.static", "/", "/<path:path>") or "GET" not in rule.methods:
            continue
        if rule.arguments & set(ROUTE_ARGS):
            values = {arg: ids[ROUTE_ARGS[arg]][1 if swap else 0] if arg in ROUTE_ARGS
                      else ROUTE_DEFAULTS.get(arg, "x") for arg in rule.arguments}
            if any(values[arg] is None for arg in rule.arguments & set(ROUTE_ARGS)):
                continue  # the principal's world has no such id (inside or outside its scope)
            if "z" in rule.arguments:
                values["level"] = "micro_grid"  # tiles serve the finest level
            urls.append((rule.endpoint, rule.build(values)[1]))
        elif not rule.arguments:
            # (from= keeps exports to one day, once= answers the change stream with its first message:
            # the replay is about who may ask, not about volume)
            urls.append((rule.endpoint, f"{rule.rule}?{next(iter(QUERY_IDS))}={code}&from=2026-11-20&once=1"))
    return urls


@pytest.mark.parametrize("who", PRINCIPALS[:-1])
def test_routes_refuse_ids_outside_the_scope(who, world, cockpit_app, live_server):
    client, ids = world["clients"][who], world["ids"][who]
    own_status = {ep: client.get(live_server + url, timeout=60, allow_redirects=False).status_code
                  for ep, url in _route_urls(cockpit_app, ids, swap=False)}
    assert any(s == 200 for s in own_status.values())
    if who in ("community", "leader"):  # a task photo of their own is served (and another's refused below)
        assert own_status["worker_api.photo_file"] == 200
        assert own_status["form_export.form_photo"] == 200  # and a form's photo answer (#19)
    failures = []
    for endpoint, url in _route_urls(cockpit_app, ids, swap=True):
        status = client.get(live_server + url, timeout=60, allow_redirects=False).status_code
        if own_status.get(endpoint, 404) < 400 and status != 404:
            failures.append((endpoint, url, status))
    assert failures == []


def test_embed_panels_limit_every_callback_and_route(world_engine, cockpit_app, live_server, world):
    """A kpis-only embed token reaches no callback or route of the map, warnings or trends panels."""
    from dashboard.auth import ROUTE_PANELS

    acc = world_engine.accounts
    kpis_only = requests.Session()
    kpis_only.headers["X-Embed-Token"] = mint_embed_token(TEST_SECRET, acc["communities"][0], WORLD_NOW,
                                                          panels=("kpis",), ttl=timedelta(hours=1))
    full = world["clients"]["embed_a"]
    ids = world["ids"]["embed_a"]
    checked = 0
    for key, entry in _callbacks(cockpit_app).items():
        fn = entry["callback"]
        panels = getattr(fn, "__panels__", ())
        if not panels:
            continue
        body = build_request(key, entry, ids, None)
        assert full.post(live_server + "/_dash-update-component", json=body).status_code not in (401, 403), key
        refused = kpis_only.post(live_server + "/_dash-update-component", json=body)
        assert refused.status_code == 204 and refused.content == b"", key  # nothing computed, nothing sent
        checked += 1
    for endpoint, url in _route_urls(cockpit_app, ids, swap=False):
        if endpoint in ROUTE_PANELS:
            assert full.get(live_server + url).status_code == 200, url
            assert kpis_only.get(live_server + url).status_code == 403, url
            checked += 1
    assert checked >= 5
    # the render callback sends a kpis-only embed no warning titles, map data or event ids
    key, entry = next((k, e) for k, e in _callbacks(cockpit_app).items() if _name(e) == "render")
    body = build_request(key, entry, ids, None)
    out = kpis_only.post(live_server + "/_dash-update-component", json=body).json()["response"]
    assert out.get("warnings-panel", {}).get("children") in (None, [])
    assert out.get("event-markers", {}).get("url") in (None, "")


def test_guard_refusal_reads_in_chinese_and_names_no_data(world, cockpit_app, live_server):
    ids = world["ids"]["community"]
    key, entry = next((k, e) for k, e in _callbacks(cockpit_app).items() if _name(e) == "show_event")
    resp = world["clients"]["community"].post(live_server + "/_dash-update-component",
                                              json=build_request(key, entry, ids, ("event", "event-markers.clickData")))
    assert resp.status_code == 403 and SCOPE_REFUSED in resp.json()["error"]
    assert "事件" in resp.json()["error"]


def test_a_task_link_reaches_its_own_task_only(world_engine, cockpit_app, live_server):
    """Task-page callbacks (found by their credential store) accept the link's event and refuse any other."""
    from governance.events.task_links import mint

    with world_engine.begin() as conn:
        mine, other = conn.execute(select(Event.id, Event.assignee_staff_id).where(
            Event.status.in_(("assign", "handle")), Event.assignee_staff_id.isnot(None)).order_by(Event.id).limit(2)).all()
        token = mint(conn, mine.id, mine.assignee_staff_id, WORLD_NOW, "test")
    requests.get(live_server + "/login")
    checked = 0
    for key, entry in _callbacks(cockpit_app).items():
        deps = [_dep_key(d) for d in entry["inputs"] + entry["state"]]
        if ("worker-token", "data", None) not in deps:
            continue
        for event, expect_refused in ((mine.id, False), (other.id, True)):
            ids = {"task": (event, event)}
            body = build_request(key, entry, ids, None)
            for dep in body["state"]:
                if dep.get("id") == "worker-token":
                    dep["value"] = token
            resp = requests.post(live_server + "/_dash-update-component", json=body, timeout=60)
            assert (resp.status_code == 403 and SCOPE_REFUSED in resp.text) == expect_refused, (event, resp.text[:200])
        checked += 1
    assert checked >= 1


def push_forms_in(engine, codes) -> None:
    """One 统一表单 pushed to the workers of each community, with a stored photo answer (once per world)."""
    from dashboard.runtime import current
    from governance.events import photos
    from governance.people import forms

    from .photo_helpers import make_jpeg

    prepared = photos.prepare(make_jpeg(), "image/jpeg", 10 * 1024 * 1024, keep_location=False)

    with engine.begin() as conn:
        for code in codes:
            if conn.execute(select(FormPush.id).where(FormPush.title == f"重放表单{code}")).first() is not None:
                continue
            path = conn.execute(select(Area.path).where(Area.code == code)).scalar()
            fid, _ = forms.push_form(conn, f"重放表单{code}", forms.validate_questions(
                [{"text": "是否正常", "kind": "yesno"}, {"text": "现场照片", "kind": "photo"}]), "workers", path, "test",
                WORLD_NOW)
            aid, staff = conn.execute(select(FormAssignment.id, FormAssignment.staff_id)
                                      .where(FormAssignment.form_id == fid).order_by(FormAssignment.id)).first()
            forms.record_photo(conn, aid, "q2", staff, "test", WORLD_NOW, prepared, photos.write_files(
                current().settings.photo_dir, prepared, WORLD_NOW))  # a photo answer on each side


def start_campaigns_in(engine, codes) -> None:
    """One 敲门行动 (残疾人) in each community (starting it again adds nothing)."""
    from governance.people import campaigns

    with engine.begin() as conn:
        for code in codes:
            path = conn.execute(select(Area.path).where(Area.code == code)).scalar()
            campaigns.start(conn, f"重放行动{code}", "disabled", path, "test", WORLD_NOW)


def _triggers(body: dict) -> list[str]:
    """The changedPropIds a browser could send for this body: one per input it carries."""
    from dash._utils import inputs_to_dict

    return list(inputs_to_dict(body["inputs"]))


@pytest.mark.parametrize("who", ["community", "community_b", "admin_a"])
def test_the_clicked_input_must_be_one_the_request_sends(who, world, cockpit_app, live_server):
    """Dash takes ctx.triggered_id from changedPropIds as sent: a body naming its own ids in the inputs and
    a foreign one as "the button clicked" must be refused before any callback runs — for every callback
    with an id in a pattern input (generated from the callback map), while naming a sent input passes."""
    from dash._utils import stringify_id

    client, ids = world["clients"][who], world["ids"][who]
    forged, genuine, failures = 0, 0, []
    for key, entry in _callbacks(cockpit_app).items():
        for kind, where, _url in id_places(entry):
            component, _, id_key = where.partition(".")
            own, foreign = ids.get(kind, (None, None))
            if foreign is None or own is None or not any(
                    (_dep_key(d)[2] or {}).get(id_key) in (["MATCH"], ["ALL"]) and _dep_key(d)[0] == component
                    for d in entry["inputs"]):
                continue
            body = build_request(key, entry, ids, None)
            sent = [t for t in _triggers(body) if t.startswith("{") and f'"{id_key}":' in t]
            if not sent:
                continue
            body["changedPropIds"] = [sent[0]]
            resp = client.post(live_server + "/_dash-update-component", json=body, timeout=60)
            if resp.status_code in (401, 403):
                continue  # this principal may not call it at all, or its own ids are not enough here
            genuine += 1
            ident, prop = sent[0].rsplit(".", 1)
            swapped = {**json.loads(ident), id_key: foreign}
            body["changedPropIds"] = [f"{stringify_id(swapped)}.{prop}"]
            resp = client.post(live_server + "/_dash-update-component", json=body, timeout=60)
            if resp.status_code != 403 or SCOPE_REFUSED not in resp.text:
                failures.append((_name(entry), where, resp.status_code, resp.text[:100]))
            forged += 1
    assert failures == []
    assert forged > 0 and genuine == forged
