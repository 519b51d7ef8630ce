"""The cockpit's view transitions and output diff, without Dash or a database."""
from __future__ import annotations

from dashboard.cockpit_flow import (changed_outputs, control_outputs, is_current, may_answer_stale, next_view,
                                    overlay_values, stamp_changes)
from dashboard.view_state import parse_search

NO = object()  # stands in for dash.no_update
LAST = {"search": "?area=A&metric=warning&period=week", "area": "A", "stamp": ["v1", "202611201200"], "stale": False}


def test_the_first_render_and_the_address_bar_win_over_default_controls():
    # a playlist entry / copied link: the page was built from the query string with default controls
    layout_stamp = {"search": "?area=A"}
    for trigger in (None, "cockpit-refresh", "live-version"):  # a refresh may overtake the first render
        view = next_view(trigger, "#area=B&metric=warning&period=week", layout_stamp, None, "open", "year", [])
        assert (view.area, view.metric, view.period) == ("B", "warning", "week")
    view = next_view("url", "#area=C&metric=closure", LAST, None, "warning", "week", [])
    assert (view.area, view.metric, view.period) == ("C", "closure", "year")
    # a playlist step whose own render was dropped for a refresh tick still wins
    view = next_view("cockpit-refresh", "#area=C&metric=open", LAST, None, "warning", "week", [])
    assert (view.area, view.metric) == ("C", "open")


def test_a_refresh_keeps_the_view_on_screen_and_a_control_change_it_overtook():
    for trigger in ("cockpit-refresh", "live-version"):
        view = next_view(trigger, "#area=A&metric=warning&period=week", LAST, None, "warning", "week", [])
        assert view == parse_search(LAST["search"])
    # the person picked 本月; the call for it was dropped when the refresh tick fired: the choice survives
    view = next_view("cockpit-refresh", "#area=A&metric=warning&period=week", LAST, None, "warning", "month", [])
    assert view.period == "month"


def test_a_control_changes_only_what_it_controls_and_a_click_only_the_area():
    view = next_view("cockpit-period", "#area=A&metric=warning&period=week", LAST, None, "warning", "month", [])
    assert (view.area, view.metric, view.period) == ("A", "warning", "month")
    view = next_view("map-overlays", None, LAST, None, "warning", "week", ["micro", "markers"])
    assert view.micro and view.markers and not view.dedicated
    view = next_view("grid-layer", None, LAST, "A-7", "warning", "week", [])
    assert (view.area, view.metric, view.period) == ("A-7", "warning", "week")


def test_controls_are_set_from_the_view_only_where_they_differ():
    view = parse_search("?area=A&metric=warning&period=week&markers=1")
    assert control_outputs(view, "open", "week", []) == ("warning", None, ["markers"])
    assert control_outputs(view, "warning", "week", ["markers"]) == (None, None, None)
    assert overlay_values(parse_search("?dedicated=1&micro=1")) == ["dedicated", "micro"]


def test_only_a_timer_refresh_of_the_same_view_may_answer_stale():
    assert may_answer_stale("cockpit-refresh", True)
    assert not may_answer_stale("cockpit-refresh", False)
    assert not may_answer_stale("cockpit-period", True)
    assert not may_answer_stale("live-version", True)
    assert not may_answer_stale(None, True)


def test_a_stale_or_other_render_is_not_current():
    assert is_current(LAST, LAST["search"], LAST["stamp"])
    assert not is_current({**LAST, "stale": True}, LAST["search"], LAST["stamp"])
    assert not is_current({**LAST, "restyle": True}, LAST["search"], LAST["stamp"])
    assert not is_current(LAST, LAST["search"], ["v2", "202611201200"])
    assert not is_current(LAST, "?area=B", LAST["stamp"])


def test_only_changed_outputs_are_sent_and_a_same_view_restyle_is_a_patch():
    keys = ["a", "b", "c", "hideout"]
    out = {"a": 1, "b": 2, "hideout": {"values": {}}}
    hashes = {"a": "h1", "b": "h2new", "hideout": "h3new"}
    old = {"a": "h1", "b": "h2", "hideout": "h3"}
    patch = lambda key, value: "PATCH" if key == "hideout" else None  # noqa: E731
    assert changed_outputs(keys, out, hashes, old, True, patch, NO) == [NO, 2, NO, "PATCH"]
    assert changed_outputs(keys, out, hashes, old, False, patch, NO) == [NO, 2, NO, {"values": {}}]


def _apply(old: dict, changes: dict) -> dict:
    import copy

    out = copy.deepcopy(old)
    for path, value in changes.items():
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return out


def test_an_idle_minute_patches_only_the_stamp_and_any_change_round_trips():
    old = {"search": "?area=1", "area": "1", "stamp": ["v1", "202612031104"], "stale": False,
           "hashes": {"kpi-strip.children": "aa", "grid-layer.url": "bb"}, "clicks": None, "restyle": False}
    minute = {**old, "stamp": ["v1", "202612031105"]}
    assert stamp_changes(old, minute) == {("stamp",): ["v1", "202612031105"]}
    assert stamp_changes(old, dict(old)) == {}
    new = {**old, "stale": True, "hashes": {"kpi-strip.children": "cc", "grid-layer.url": "bb", "event-list.children": "dd"}}
    changes = stamp_changes(old, new)
    assert set(changes) == {("stale",), ("hashes", "kpi-strip.children"), ("hashes", "event-list.children")}
    assert _apply(old, changes) == new
    assert _apply({}, stamp_changes({}, new)) == new
