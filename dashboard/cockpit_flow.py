"""The cockpit's view transitions and output diffing as pure functions (no Dash, no database): unit-tested.

One view state (dashboard.view_state.ViewState) is the truth that the URL fragment, the controls, a
wall's playlist and every callback agree on:
- the address bar wins when it names another view than the last render showed (back/forward, a
  playlist step, a pasted link — even when a refresh tick, not the fragment, triggered this call,
  since Dash drops a running call when the same callback is triggered again);
- otherwise the controls are the truth for metric, period and overlays (a person's change survives a
  refresh that overtook it), and a new map click changes the area.
The controls and the fragment are then set from the view, so they never disagree with the screen.
"""
from __future__ import annotations

from collections.abc import Callable

from .view_state import ViewState, parse_search

TIMER = "cockpit-refresh"
OVERLAYS = ("dedicated", "markers", "micro")


def overlay_values(view: ViewState) -> list[str]:
    """The overlay checklist's value for a view."""
    return [name for name in OVERLAYS if getattr(view, name)]


def next_view(trigger: str | None, fragment: str | None, last: dict, clicked_code: str | None,
              metric: str | None, period: str | None, overlays: list | None) -> ViewState:
    """The view to show after `trigger` (a component id, None on the first render)."""
    address = fragment if fragment and fragment != "#" else None
    shown = parse_search(last.get("search")) if last.get("search") else None
    asked = parse_search(address) if address else None
    if shown is None or (asked is not None and asked != shown):
        return asked or shown or parse_search(None)
    chosen = overlays if overlays is not None else overlay_values(shown)
    view = shown.with_(metric=metric or shown.metric, period=period or shown.period,
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
    """True when the last render already showed this view at this data stamp, fully fresh and restyled.

    ("restyle": the map's colours changed while its geometry may still have been loading, which
    dash-leaflet's GeoJSON ignores; the next render sends them once more. "deferred": the layout left
    the side panel's lists for the first render to send.)"""
    return (last.get("search") == search and last.get("stamp") == stamp and not last.get("stale")
            and not last.get("restyle") and not last.get("deferred"))


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


def stamp_changes(old: dict, new: dict) -> dict[tuple, object]:
    """The assignments (key path → value) that turn the stored view stamp `old` into `new`; content
    hashes entry by entry, so a tick that moves only the minute sends a few bytes, not every hash."""
    changes: dict[tuple, object] = {}
    for key, value in new.items():
        if key == "hashes" and isinstance(value, dict) and isinstance(old.get("hashes"), dict):
            changes.update({("hashes", k): v for k, v in value.items() if old["hashes"].get(k) != v})
        elif key not in old or old[key] != value:
            changes[(key,)] = value
    return changes


def fingerprints(out: dict, always_sent: set) -> dict:
    """Content hashes of the outputs that are only sent when they change (all but `always_sent`)."""
    return {k: fingerprint(v) for k, v in out.items() if k not in always_sent}


def fingerprint(value) -> str:
    """Short hash of an output's content (components and figures serialised to JSON)."""
    import hashlib
    import json

    return hashlib.blake2b(json.dumps(value, default=_plain, ensure_ascii=False, separators=(",", ":"))
                           .encode(), digest_size=6).hexdigest()


def _plain(value):
    """What json cannot write itself: Dash components and plotly figures as their JSON, numbers and dates
    of numpy and datetime as text (the same content always gives the same text)."""
    if hasattr(value, "to_plotly_json"):
        return value.to_plotly_json()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
