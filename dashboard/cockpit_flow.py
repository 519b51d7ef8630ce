"""The cockpit's view transitions and output diffing as pure functions (no Dash, no database): unit-tested.

One view state (dashboard.view_state.ViewState) is the truth that the URL fragment, the controls, a
wall's playlist and every callback agree on:
- the address bar wins when it changed (back/forward, a playlist step, a pasted link) and on the
  first render, since the page was built from the query string, not from the fragment;
- a control wins when a person changed it;
- anything else (refresh tick, pushed change, map click) keeps the view last rendered, whatever the
  controls still show, and a map click only changes the area.
The controls are then set from the view, so they never disagree with what is on screen.
"""
from __future__ import annotations

from collections.abc import Callable

from .view_state import ViewState, parse_search

ADDRESS_BAR = "url"
CONTROLS = ("map-metric", "cockpit-period", "map-overlays")
TIMER = "cockpit-refresh"
OVERLAYS = ("dedicated", "markers", "micro")


def overlay_values(view: ViewState) -> list[str]:
    """The overlay checklist's value for a view."""
    return [name for name in OVERLAYS if getattr(view, name)]


def next_view(trigger: str | None, fragment: str | None, last: dict, clicked_code: str | None,
              metric: str | None, period: str | None, overlays: list | None) -> ViewState:
    """The view to show after `trigger` (a component id, None on the first render)."""
    address = fragment if fragment and fragment != "#" else None
    if trigger in (None, ADDRESS_BAR):
        return parse_search(address or last.get("search"))
    view = parse_search(last.get("search") or address)
    if trigger in CONTROLS:
        chosen = overlays or []
        view = view.with_(metric=metric or view.metric, period=period or view.period,
                          **{name: name in chosen for name in OVERLAYS})
    if clicked_code and clicked_code != view.area:
        view = view.with_(area=clicked_code)
    return view


def control_outputs(view: ViewState, metric, period, overlays) -> tuple:
    """New values for the metric, period and overlay controls where they differ from the view (else None)."""
    want = overlay_values(view)
    return (view.metric if metric != view.metric else None,
            view.period if period != view.period else None,
            want if sorted(overlays or []) != sorted(want) else None)


def may_answer_stale(trigger: str | None, same_view: bool) -> bool:
    """Only a timer refresh of the view already on screen may show figures of the previous data stamp."""
    return trigger == TIMER and same_view


def is_current(last: dict, search: str, stamp: list) -> bool:
    """True when the last render already showed this view at this data stamp, fully fresh."""
    return last.get("search") == search and last.get("stamp") == stamp and not last.get("stale")


def changed_outputs(keys: list[str], out: dict, hashes: dict, old: dict, same_view: bool,
                    patch: Callable[[str, object], object], no_update) -> list:
    """Per output key: `no_update` when its content hash is unchanged (or it is absent), a patch for a
    restyle of the same view (`patch(key, value)` returns one or None), else the new value."""
    result = []
    for key in keys:
        if key not in out or (key in hashes and old.get(key) == hashes[key]):
            result.append(no_update)
            continue
        patched = patch(key, out[key]) if same_view else None
        result.append(out[key] if patched is None else patched)
    return result
