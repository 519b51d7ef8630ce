"""Helpers of the admin console tests: call a Dash callback by name with chosen values, render a page."""
from __future__ import annotations

import json

from .test_access_matrix import _callback_name, _server_callbacks, callback_payload


def stringify(ident: dict) -> str:
    """A pattern id as Dash's renderer writes it in changedPropIds (sorted keys, no spaces)."""
    return json.dumps(ident, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dash_call(client, base: str, app, name: str, values: dict | None = None, trigger: str | dict | None = None,
              pattern: list[dict] | None = None, prop: str = "n_clicks"):
    """POST the callback `name` with `values` ({"component.prop": value}), `pattern` rows for its ALL input,
    and `trigger` (a component id or a pattern id dict, clicked once) as the changed property."""
    values = dict(values or {})
    key, entry = next((k, e) for k, e in _server_callbacks(app).items() if _callback_name(e) == name)
    body = callback_payload(key, entry, 0)
    for deps, items in ((entry["inputs"], body["inputs"]), (entry["state"], body["state"])):
        for i, d in enumerate(deps):
            if d["id"].startswith("{"):
                items[i] = [{"id": p, "property": d["property"], "value": 1 if p == trigger else 0}
                            for p in (pattern or [])]
            else:
                items[i]["value"] = values.get(f"{d['id']}.{d['property']}")
    if trigger is not None:
        body["changedPropIds"] = [f"{stringify(trigger) if isinstance(trigger, dict) else trigger}.{prop}"]
        if isinstance(trigger, str):
            for item in body["inputs"]:
                if isinstance(item, dict) and item["id"] == trigger and item["property"] == prop:
                    item["value"] = values.get(f"{trigger}.{prop}", 1)
    return client.post(base + "/_dash-update-component", json=body, timeout=60)


def page_content(client, base: str, path: str) -> str:
    """What Dash's page router renders at `path` for this client (as JSON text)."""
    body = {"output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "state": [], "changedPropIds": ["_pages_location.pathname"]}
    resp = client.post(base + "/_dash-update-component", json=body, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    return json.dumps(resp.json()["response"]["_pages_content"]["children"], ensure_ascii=False)


def flat(resp) -> str:
    """A callback answer as readable text (JSON decoded: no escaped slashes or non-ASCII)."""
    try:
        return json.dumps(resp.json(), ensure_ascii=False)
    except ValueError:
        return resp.text
