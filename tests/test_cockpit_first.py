"""The cockpit laid out with the app's layout (dashboard/cockpit_first.py): same access and scope as the page router."""
from __future__ import annotations

import json

import requests
from sqlalchemy import func, select

from dashboard.cockpit_first import first_scripts, layout_url, page_query, split_page
from governance.models import AccessLog

from .conftest import http_session


def test_split_page_names_only_cockpit_pages_of_this_site():
    assert split_page("/?area=51&metric=open") == ("/", "?area=51&metric=open", "/")
    assert split_page("/embed?token=abc") == ("/embed", "?token=abc", "/embed")
    assert split_page("/embed/") == ("/embed/", "", "/embed")
    assert split_page("/") == ("/", "", "/")
    for raw in ("/events", "/worker/abc", "http://elsewhere.example/?area=1", "//elsewhere.example/", "", None,
                "area=1", "/" + "x" * 3000):
        assert split_page(raw) is None, raw


def test_page_query_is_what_dash_pages_pass_a_layout():
    assert page_query("?a=1&b=2&b=3&c=") == {"a": "1", "b": ["2", "3"], "c": ""}
    assert page_query("") == {}
    assert page_query("a=1") == {}


def _find(node, ident):
    """The component with id `ident` in a serialised layout (None when absent)."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == ident:
            return node
        children = node.get("props", {}).get("children") if "props" in node else list(node.values())
        return _find(children, ident)
    if isinstance(node, list):
        for item in node:
            found = _find(item, ident)
            if found is not None:
                return found
    return None


def _layout(session, base: str, page: str | None, fragment: str = "") -> dict:
    resp = session.get(base + (layout_url("/", page, fragment) if page is not None else "/_dash-layout"),
                       timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()


def test_the_layout_carries_the_cockpit_in_the_scope_only(world_engine, live_server):
    """A foreign area in the address bar falls back to home (logged); nothing of it is laid out."""
    own, other = world_engine.accounts["community"], world_engine.accounts["community_b"]
    s = http_session(world_engine, live_server, "community")
    with world_engine.connect() as conn:
        before = conn.execute(select(func.max(AccessLog.id))).scalar() or 0

    layout = _layout(s, live_server, f"/?area={other}&metric=closure")
    content = _find(layout, "_pages_content")["props"]["children"]
    stamp = _find(content, "view-stamp")["props"]["data"]
    assert stamp["area"] == own and "metric=closure" in stamp["search"]
    assert other not in json.dumps(content)
    location = _find(layout, "_pages_location")["props"]
    assert (location["pathname"], location["search"]) == ("/", f"?area={other}&metric=closure")
    with world_engine.connect() as conn:
        logged = conn.execute(select(AccessLog.action, AccessLog.target).where(AccessLog.id > before)).all()
    assert ("scope_fallback", f"area:{other}") in [tuple(r) for r in logged]

    layout = _layout(s, live_server, f"/?area={own}&metric=open")
    assert _find(_find(layout, "_pages_content"), "view-stamp")["props"]["data"]["area"] == own


def test_the_location_starts_at_the_browsers_fragment(world_engine, live_server):
    """Laid out for the layout request, the cockpit's location holds the fragment the request names, so mounting
    it calls no render (the first render callback waits for first-drawn); a value that is no fragment is not
    taken, and the router's build of the page (no fragment known) leaves the location to report its own."""
    s = http_session(world_engine, live_server, "leader")
    url = _find(_layout(s, live_server, "/", "#area=51&metric=warning"), "url")["props"]
    assert url["hash"] == "#area=51&metric=warning"
    assert _find(_layout(s, live_server, "/"), "url")["props"]["hash"] == ""
    assert "hash" not in _find(_layout(s, live_server, "/", "area=51"), "url")["props"]
    body = {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "state": [], "changedPropIds": ["_pages_location.pathname"]}
    routed = s.post(live_server + "/_dash-update-component", json=body, timeout=60).json()
    assert "hash" not in _find(routed, "url")["props"]


def test_the_layout_follows_the_page_access(world_engine, live_server):
    """A department account (no cockpit) and a request without a session get the page's refusal, as the
    router gives it; without the page named the container is empty and the router fills it."""
    dept = http_session(world_engine, live_server, "dept")
    content = json.dumps(_find(_layout(dept, live_server, "/"), "_pages_content"), ensure_ascii=False)
    assert "无权访问" in content and "view-stamp" not in content
    anonymous = json.dumps(_find(_layout(requests.Session(), live_server, "/"), "_pages_content"),
                           ensure_ascii=False)
    assert "view-stamp" not in anonymous
    leader = http_session(world_engine, live_server, "leader")
    assert _find(_layout(leader, live_server, None), "_pages_content")["props"].get("children") is None
    assert _find(_layout(leader, live_server, "/events"), "_pages_content")["props"].get("children") is None
    assert _find(_layout(leader, live_server, "/"), "view-stamp") is not None


def test_the_first_view_s_geometry_comes_with_its_layout(world_engine, live_server):
    """The cockpit's layout carries its first view's choropleth geometry (the geobuf its URL serves, in base64) —
    of the home area when the address names a foreign one; the HTML preloads the outline, which the first render
    callback sends, and nothing of the foreign area."""
    import base64

    own, other = world_engine.accounts["community"], world_engine.accounts["community_b"]
    s = http_session(world_engine, live_server, "community")
    page = s.get(live_server + f"/?area={other}", timeout=60).text
    assert f'rel="preload" as="fetch" crossorigin="anonymous" href="/api/v1/geo/{own}/community.pbf"' in page
    assert f"/api/v1/geo/{own}/general_grid.pbf" not in page  # it comes with the layout
    assert f"/api/v1/geo/{other}/" not in page
    assert "/api/v1/geo/" not in s.get(live_server + "/events", timeout=60).text
    grid = _find(_layout(s, live_server, f"/?area={other}"), "grid-layer")["props"]
    assert grid["url"] == f"/api/v1/geo/{own}/general_grid.pbf" and grid["format"] == "geobuf"
    served = s.get(live_server + grid["url"], timeout=60)
    assert served.status_code == 200 and len(served.content) > 100
    assert base64.b64decode(grid["data"]) == served.content


def test_a_view_too_large_for_the_layout_keeps_its_geometry_to_its_url(world_engine, live_server, cockpit_app,
                                                                        monkeypatch):
    """Past the inline limit the layout carries no geometry and the page preloads the choropleth's URL."""
    from dashboard import geo_routes, runtime

    caches = runtime.of(cockpit_app).caches
    monkeypatch.setattr(geo_routes, "INLINE_MOST_BYTES", 10)
    caches.pop(geo_routes.INLINE.name, None)  # views laid out before, under the real limit
    try:
        own = world_engine.accounts["community_b"]
        s = http_session(world_engine, live_server, "community_b")
        assert f'href="/api/v1/geo/{own}/general_grid.pbf"' in s.get(live_server + "/", timeout=60).text
        grid = _find(_layout(s, live_server, "/"), "grid-layer")["props"]
        assert grid["url"] == f"/api/v1/geo/{own}/general_grid.pbf" and grid.get("data") is None
    finally:
        caches.pop(geo_routes.INLINE.name, None)


def test_only_later_navigations_call_the_title_callback(world_engine, live_server):
    """Dash pages' title callback is not called as a page loads (its HTML has the title: the call only cost the
    first render time); it stays in the callbacks, so every later navigation still sets the title."""
    s = http_session(world_engine, live_server, "leader")
    assert "<title>网格驾驶舱</title>" in s.get(live_server + "/", timeout=60).text
    callbacks = s.get(live_server + "/_dash-dependencies", timeout=60).json()
    title = [cb for cb in callbacks if cb["output"] == "_pages_dummy.children"]
    assert len(title) == 1 and title[0]["prevent_initial_call"] is True, title
    assert title[0]["inputs"] == [{"id": "_pages_store", "property": "data"}]
    # the other callbacks keep what they declare
    assert any(cb["prevent_initial_call"] is False for cb in callbacks if cb["output"] != "_pages_dummy.children")
