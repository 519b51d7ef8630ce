"""The one place every id a request carries is checked against the principal's scope, before any query runs.

A Dash callback request names ids in three ways: component properties whose value holds one (a map
click's area code, the view store's area, the ledger rows' event ids …), keys of pattern-matching
component ids (`{"type": "dispatch-to", "event": 5, "staff": 7}`), and the address bar (fragment or
query string). A Flask route names them as path arguments or query arguments. This module declares,
for every property and key the app uses, which kind of id it carries (SLOTS, PATTERN_KEYS,
QUERY_IDS); tests/test_scope_replay.py fails when a callback uses one that is declared nowhere and
replays every declared one with another community's id.

Ids from app-made places (stores, clicks, pattern ids) can only be foreign in a forged request: the
request is refused (403) and logged. Ids from the address bar are what a person typed or
bookmarked: a foreign one falls back to the principal's home area, the same way on every page.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from dash._utils import inputs_to_dict  # the very keys Dash matches changedPropIds against

from governance.core.access import Principal
from governance.accounts.id_scope import KINDS, refused_ids


def _dig(value, *keys):
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _one(*keys) -> Callable[[Any], list]:
    return lambda value: [_dig(value, *keys)] if keys else [value]


def _many(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else ([value] if value not in (None, "") else [])


def _row_ids(value) -> list:
    return [row.get("id") for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _query_areas(value) -> list:
    """Area codes named by a query string or URL fragment (`area=…`, `community=a,b`)."""
    if not isinstance(value, str):
        return []
    ids = []
    for key, val in parse_qsl(value.lstrip("?#")):
        if key in QUERY_IDS:
            ids.extend(v for v in val.split(",") if v) if key == "community" else ids.append(val)
    return ids


@dataclass(frozen=True)
class Slot:
    """A component property that carries ids: their kind, how to read them, and a sample value (for tests)."""

    kind: str
    read: Callable[[Any], list]
    sample: Callable[[Any], Any]
    url: bool = False  # the address bar: a foreign id falls back to home instead of refusing the request


SLOTS: dict[tuple[str, str], Slot] = {
    ("url", "hash"): Slot("area", _query_areas, lambda c: f"#area={c}", url=True),
    ("_pages_location", "search"): Slot("area", _query_areas, lambda c: f"?area={c}", url=True),
    ("grid-layer", "clickData"): Slot("area", _one("properties", "code"), lambda c: {"properties": {"code": c}}),
    ("view-stamp", "data"): Slot("area", lambda v: [_dig(v, "area"), *_query_areas(_dig(v, "search"))],
                                 lambda c: {"search": f"?area={c}", "area": c, "stamp": None, "hashes": {}}),
    ("tile-state", "data"): Slot("area", _one("area"), lambda c: {"area": c, "keys": []}),
    ("trend-stamp", "data"): Slot("area", lambda v: _query_areas(_dig(v, "search")),
                                  lambda c: {"search": f"?area={c}", "stamp": [0, "0"]}),
    ("events-area", "data"): Slot("area", _one(), lambda c: c),
    ("f-community", "value"): Slot("area", _many, lambda c: [c]),
    ("drill-area", "value"): Slot("area", _one(), lambda c: c),
    ("events-table", "data"): Slot("event", _row_ids, lambda e: [{"id": e}]),
    ("open-event", "data"): Slot("event", _one("id"), lambda e: {"id": e, "at": 1}),  # a row's click (show_event)
    ("event-markers", "clickData"): Slot("event", _one("properties", "id"), lambda e: {"properties": {"id": e}}),
    ("drill-pick", "value"): Slot("drill", _one(), lambda d: d),
    ("depts", "value"): Slot("department", _many, lambda d: [d]),
    ("brief-area", "value"): Slot("area", _one(), lambda c: c),
    # admin console (#22)
    ("adm-new-area", "value"): Slot("area", _one(), lambda c: c),
    ("adm-dev-area", "value"): Slot("area", _one(), lambda c: c),
    ("adm-client-area", "value"): Slot("area", _one(), lambda c: c),
    ("audit-area", "value"): Slot("area", _one(), lambda c: c),
    ("adm-dev-pick", "value"): Slot("device", _one(), lambda d: d),
    ("dept-area", "value"): Slot("area", _one(), lambda c: c),      # 部门响应 (issue #20)
    ("points-area", "value"): Slot("area", _one(), lambda c: c),    # 骑手积分
}
# Properties that carry no id (controls, timers, free text, row indexes into a checked table, credentials).
ID_FREE: set[tuple[str, str]] = {
    ("_pages_location", "pathname"), ("grid-layer", "n_clicks"), ("map-metric", "value"),
    ("cockpit-period", "value"), ("map-overlays", "value"), ("cockpit-refresh", "n_intervals"),
    ("cockpit-map", "bounds"), ("cockpit-map", "zoom"), ("trend-kick", "n_intervals"), ("close-detail", "n_clicks"),
    ("kiosk-tick", "n_intervals"), ("kiosk-playlist", "data"), ("kiosk-state", "data"),
    ("f-dates", "start_date"), ("f-dates", "end_date"), ("f-source", "value"), ("f-category", "value"),
    ("f-status", "value"), ("f-text", "value"), ("events-table", "page_current"), ("events-table", "sort_by"),
    ("events-table", "active_cell"), ("events-table", "selected_rows"), ("close-events-detail", "n_clicks"),
    ("bulk-dispatch", "n_clicks"), ("drill-start", "n_clicks"), ("drill-count", "value"),
    ("live-version", "data"),  # a data version pushed by /api/v1/changes
    ("first-drawn", "data"),  # when the cockpit's first choropleth was drawn (a time; render does not read it)
    ("w-note", "value"), ("w-photo", "value"), ("step-note", "value"), ("visit-score", "value"),
    ("w-sent", "data"),  # how many queued actions the phone delivered (a counter)
    ("worker-token", "data"),  # the task page's credential: it decides which events are its (kind "task")
    ("brief-kind", "value"), ("brief-which", "value"),
    # admin console (#22): form fields, free text, the playlist text (its areas are checked when saved), filters
    ("adm-people-q", "value"), ("adm-new-username", "value"), ("adm-new-name", "value"), ("adm-new-role", "value"),
    ("adm-dev-name", "value"), ("adm-playlist", "value"), ("adm-client-name", "value"), ("adm-client-scopes", "value"),
    ("adm-set-path", "value"), ("adm-set-value", "value"), ("audit-kind", "value"), ("audit-person", "value"),
    ("audit-action", "value"), ("audit-dates", "start_date"), ("audit-dates", "end_date"),
    ("dept-period", "value"), ("whistle-text", "value"),  # a period choice; a department's reply text
    ("shelve-reason", "value"), ("shelve-hours", "value"),  # alarm management (#18)
}
ID_FREE.add(("people-reason", "value"))  # the logged reason for unmasking a household (#19)
# 统一表单推送 (#19): the composer's fields and question rows, the progress timer, a worker's answers and photos
SLOTS[("form-area", "value")] = Slot("area", _one(), lambda c: c)
SLOTS[("form-pick", "value")] = Slot("form", _one(), lambda f: f)
ID_FREE.update({("form-title", "value"), ("form-target", "value"), ("form-tick", "n_intervals"),
                ("fq-text", "value"), ("fq-kind", "value"), ("fq-options", "value"), ("fq-safety", "value"),
                ("fq-cat", "value"), ("wf-ans", "value"), ("wf-photo", "contents")})
# 敲门行动 (#19): the area it is started in, the campaign whose progress is shown; name, group, due date, timer
SLOTS[("camp-area", "value")] = Slot("area", _one(), lambda c: c)
SLOTS[("camp-pick", "value")] = Slot("campaign", _one(), lambda c: c)
ID_FREE.update({("camp-name", "value"), ("camp-group", "value"), ("camp-due", "value"), ("camp-tick", "n_intervals")})
# Keys of pattern-matching ids: the kind of id each names (a key not listed names nothing: type, to, level).
PATTERN_KEYS = {"event": "event", "staff": "staff", "warning": "warning",
                "user": "user", "device": "device", "client": "client"}  # admin console rows (#22)
PATTERN_KEYS["household"] = "household"  # 人口底数 unmask buttons (#19)
PATTERN_KEYS["whistle"] = "whistle"  # 吹哨报到 requests on a department's page (#20)
PATTERN_KEYS["a"] = "assignment"  # a worker's form assignment (#19)
PATTERN_KEYS["department"] = "department"  # 停用/启用 a department in the admin console (#22)
# admin console (#22): a department or visit-plan setting path and its new value (checked against the editable paths)
ID_FREE.update({("adm-dept-path", "value"), ("adm-dept-value", "value"), ("adm-plan-path", "value"),
                ("adm-plan-value", "value")})
PATTERN_TYPE_KEYS: dict[tuple[str, str], str] = {}  # (component type, key) → kind, where the key alone misleads
ID_FREE_KEYS = {"type", "to", "level", "do"}  # actions, steps and levels name no id
ID_FREE_KEYS.add("q")  # a form question key (q1, q2 …) or composer row index names no id
# A worker's task page names events its link (or the signed-in worker) holds, not events of a scope.
TASK_TYPES = {"w-task", "w-step", "w-note", "w-photo", "w-sent", "w-msg"}
# Query and path arguments of routes (and of the address bar) that name areas.
QUERY_IDS = {"area": "area", "community": "area"}
ROUTE_ARGS = {"code": "area", "brief_id": "brief", "photo_id": "photo", "drill_id": "drill"}
ROUTE_ARGS["form_id"] = "form"  # 统一表单推送 export (#19)
ROUTE_ARGS["form_photo_id"] = "form_photo"  # 统一表单 photo answers (#19)


@dataclass(frozen=True)
class Refusal:
    """An id a request may not name."""

    kind: str
    value: Any
    where: str
    fallback: bool = False  # an address-bar id replaced by home: the request goes on (and is logged)

    @property
    def message(self) -> str:
        """The refusal as shown to the caller (Chinese; names the kind, not what lies behind the id)."""
        return f"{KINDS.get(self.kind, '任务')} {self.value} 不存在或不在您的权限范围内"


def key_kind(component_type: str, key: str) -> str | None:
    """The id kind a pattern-id key names (None for keys that name nothing); KeyError when undeclared."""
    if key in ID_FREE_KEYS:
        return None
    if key == "event" and component_type in TASK_TYPES:
        return "task"
    kind = PATTERN_TYPE_KEYS.get((component_type, key)) or PATTERN_KEYS.get(key)
    if kind is None:
        raise KeyError(f"pattern id key {key!r} of {component_type!r} is not declared in request_guard")
    return kind


def slot_of(component: str, prop: str) -> Slot | None:
    """The Slot of a component property (None when it carries no id); KeyError when undeclared."""
    if (component, prop) in SLOTS:
        return SLOTS[(component, prop)]
    if (component, prop) in ID_FREE or prop == "n_clicks":  # a click count names nothing
        return None
    raise KeyError(f"{component}.{prop} is not declared in request_guard (SLOTS or ID_FREE)")


def _entries(items):
    """Every {id, property, value} entry of a callback request's inputs, state or outputs."""
    for item in items or []:
        if isinstance(item, list):
            yield from _entries(item)
        elif isinstance(item, dict) and "id" in item:
            yield item


def callback_ids(body: dict) -> tuple[list[tuple[str, Any, str]], list[dict], Any]:
    """(kind, id, where) for every id a callback request carries, its address-bar entries, its task credential."""
    found, url_entries, credential = [], [], None
    for entry in _entries([*(body.get("inputs") or []), *(body.get("state") or []),
                           *(body.get("outputs") if isinstance(body.get("outputs"), list) else [body.get("outputs")])]):
        ident, prop = entry.get("id"), str(entry.get("property", ""))
        if isinstance(ident, dict):
            ctype = str(ident.get("type", ""))
            for key, val in ident.items():
                try:
                    kind = key_kind(ctype, key)
                except KeyError:
                    kind = "unknown"
                if kind:
                    found.append((kind, val, f"{ctype}.{key}"))
            component = ctype
        else:
            component = str(ident)
        if component == "worker-token" and prop == "data":
            credential = entry.get("value")
        slot = SLOTS.get((component, prop))
        if slot is None or "value" not in entry:
            continue
        if slot.url:
            url_entries.append(entry)
            continue
        found.extend((slot.kind, v, f"{component}.{prop}") for v in slot.read(entry.get("value")))
    return found, url_entries, credential


def stray_trigger(body: dict) -> str | None:
    """A changedPropIds entry that names no input of the request (None when all do).

    Dash builds `ctx.triggered_id` from changedPropIds without comparing it with the inputs, so a
    forged body could name a checked id in its inputs and another one as "the button clicked"; a
    browser only ever names inputs it sends, so such a request is refused before any callback runs."""
    changed = body.get("changedPropIds") or []
    if not isinstance(changed, list):
        return str(changed)[:80]
    try:
        sent = set(inputs_to_dict(body.get("inputs") or []))
    except (AttributeError, KeyError, TypeError):
        return "inputs"
    return next((str(x)[:80] for x in changed if not isinstance(x, str) or x not in sent), None)


def screen_callback(conn, body: dict, principal: Principal, now, task_grant: Callable | None = None) -> Refusal | None:
    """Check a callback request's ids: the first refused one; else a fallback note when a foreign
    address-bar area became home (the body is rewritten in place), else None.

    `task_grant(credential)` returns the event ids a worker credential holds (task page callbacks).
    """
    stray = stray_trigger(body)
    if stray is not None:
        return Refusal("unknown", stray, "changedPropIds")
    found, url_entries, credential = callback_ids(body)
    by_kind: dict[str, list] = {}
    for kind, value, where in found:
        if value in (None, "", 0, "0"):
            continue
        if kind == "unknown":
            return Refusal("unknown", value, where)
        by_kind.setdefault(kind, []).append((value, where))
    for kind, items in by_kind.items():
        if kind == "task":
            held = task_grant(credential) if task_grant else frozenset()
            for value, where in items:
                if str(value) not in {str(e) for e in held}:
                    return Refusal("task", value, where)
            continue
        bad = set(map(str, refused_ids(conn, principal, kind, [v for v, _ in items])))
        for value, where in items:
            if str(value) in bad:
                return Refusal(kind, value, where)
    fell_back = None
    for entry in url_entries:
        before = entry.get("value")
        entry["value"] = fallback_url(conn, before, principal)
        if entry["value"] != before:
            fell_back = Refusal("area", ",".join(_query_areas(before)), "address bar", fallback=True)
    return fell_back



def fallback_url(conn, value, principal: Principal):
    """A query string or fragment with every area the principal may not see replaced by its home (or dropped)."""
    if not isinstance(value, str) or not _query_areas(value):
        return value
    prefix = value[:1] if value[:1] in "?#" else ""
    pairs = parse_qsl(value.lstrip("?#"), keep_blank_values=True)
    bad = set(refused_ids(conn, principal, "area", [c for c in _query_areas(value)]))
    if not bad:
        return value
    out = []
    for key, val in pairs:
        if key == "community":
            kept = [c for c in val.split(",") if c and c not in bad]
            if kept:
                out.append((key, ",".join(kept)))
        elif key == "area" and val in bad:
            if principal.home:
                out.append((key, principal.home))
        else:
            out.append((key, val))
    return prefix + urlencode(out) if out else prefix


def route_ids(view_args: dict | None, args) -> list[tuple[str, Any, str]]:
    """(kind, id, where) for every id a route request names in its path or query."""
    found = [(ROUTE_ARGS[k], v, k) for k, v in (view_args or {}).items() if k in ROUTE_ARGS]
    for key in QUERY_IDS:
        for raw in args.getlist(key):
            found.extend((QUERY_IDS[key], v, key) for v in (raw.split(",") if key == "community" else [raw]) if v)
    return found


def screen_route(conn, view_args: dict | None, args, principal: Principal) -> Refusal | None:
    """Check a route request's path and query ids: the first refused one, else None."""
    for kind, value, where in route_ids(view_args, args):
        if refused_ids(conn, principal, kind, [value]):
            return Refusal(kind, value, where)
    return None
