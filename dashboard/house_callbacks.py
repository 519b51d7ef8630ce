"""The house's Dash pages and callbacks, given to every app made in a process (not only the first).

Dash keeps pages and `dash.callback`s process-global: `Dash(use_pages=True)` imports (re-executes) the
pages folder on every app, and the first app to serve a request moves every global callback into its
own callback map, leaving none for an app made later (a second create_app would then answer no
dispatch-panel callback, and re-executed pages would swap the modules an earlier app's callbacks use).
So the pages are imported by the first app only, and every app takes its callbacks from the house's
registry here, which collects what `dash.callback` registered globally.
"""
from __future__ import annotations

import threading

from dash import _callback

_LOCK = threading.Lock()
_MAP: dict[str, dict] = {}  # output id → callback entry (as dash.callback registered it)
_LIST: dict[str, dict] = {}  # output id → the entry sent to the browser
_SCRIPTS: list[str] = []  # inline scripts of clientside callbacks given as code
_PAGES = {"loaded": False}


def pages_folder(folder: str) -> str:
    """The pages folder for a new app: the real one for the first app of the process, "" after (the
    pages are imported once; dash.page_registry already holds them)."""
    with _LOCK:
        return "" if _PAGES["loaded"] else folder


def pages_loaded() -> None:
    """Note that the first app imported the pages."""
    with _LOCK:
        _PAGES["loaded"] = True


def adopt(app) -> None:
    """Collect the callbacks registered globally so far into the house's registry and give `app` a copy of
    all of them (call after every module registering callbacks was imported, before the app serves)."""
    with _LOCK:
        _MAP.update(_callback.GLOBAL_CALLBACK_MAP)
        _callback.GLOBAL_CALLBACK_MAP.clear()
        for entry in _callback.GLOBAL_CALLBACK_LIST:
            _LIST[entry["output"]] = entry
        _callback.GLOBAL_CALLBACK_LIST.clear()
        _SCRIPTS.extend(s for s in _callback.GLOBAL_INLINE_SCRIPTS if s not in _SCRIPTS)
        _callback.GLOBAL_INLINE_SCRIPTS.clear()
        app.callback_map.update({k: dict(v) for k, v in _MAP.items()})
        app._callback_list.extend(dict(v) for v in _LIST.values())  # noqa: SLF001 - Dash keeps them there
        app._inline_scripts.extend(_SCRIPTS)  # noqa: SLF001
