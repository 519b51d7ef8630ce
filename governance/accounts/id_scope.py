"""Where each kind of id a request can carry lies in the area tree, checked against a principal's scope.

Every id that reaches the server from outside — an area code, an event, staff member, warning,
department or drill — is one of KINDS. `refused_ids` answers, in one query per kind, which of a
request's ids the principal may not name. The web layer's request guard is its only caller on the
way in; callbacks and routes then only ever see ids that passed.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..core.access import Principal
from ..models import Area, Brief, Event, EventPhoto, Staff, RaisedWarning, Whistle
from ..models import Household
from ..core.taxonomy import load_taxonomy

KINDS = {
    "area": "区域", "event": "事件", "staff": "人员", "warning": "预警", "department": "部门", "drill": "演练",
    "brief": "简报",
    "photo": "照片",  # a task photo lies where its event lies
    "user": "账号", "device": "大屏设备", "client": "接入方",  # admin console (#22): where they are anchored
    "whistle": "报到请求",
}
KINDS["household"] = "户"  # people registry (#19): a household lies where its micro-grid lies
KINDS["form"] = "表单"  # 统一表单推送 (#19): a form lies where it was pushed
KINDS["assignment"] = "表单任务"  # … and one assignment where its worker or premises lies
KINDS["form_photo"] = "表单照片"  # … and a photo answer where its assignment lies
KINDS["campaign"] = "敲门行动"  # a 敲门行动 lies where it was started (#19)
DRILL_KEY_PREFIX = "DRILL-"


def _norm_int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if str(number) == str(value).strip() else None


def _paths(conn: Connection, kind: str, values: list) -> dict:
    """Area path per id (ids that do not exist are missing from the answer)."""
    if kind == "area":
        codes = [str(v) for v in values]
        return dict(conn.execute(select(Area.code, Area.path).where(Area.code.in_(codes))).all())
    if kind == "drill":
        out: dict = {}
        for drill in {str(v) for v in values}:  # a drill lies wherever its events lie
            out[drill] = conn.execute(select(Event.area_path).where(
                Event.source == "drill", Event.source_key.startswith(f"{DRILL_KEY_PREFIX}{drill}-"))).scalars().all()
        return {k: v for k, v in out.items() if v}
    ids = [n for n in (_norm_int(v) for v in values) if n is not None]
    if not ids:
        return {}
    if kind == "event":
        rows = conn.execute(select(Event.id, Event.area_path).where(Event.id.in_(ids))).all()
    elif kind == "staff":
        rows = conn.execute(select(Staff.id, Area.path).join(Area, Area.id == Staff.area_id)
                            .where(Staff.id.in_(ids))).all()
    elif kind == "warning":
        rows = conn.execute(select(RaisedWarning.id, RaisedWarning.area_path).where(RaisedWarning.id.in_(ids))).all()
    elif kind == "brief":
        rows = conn.execute(select(Brief.id, Brief.area_path).where(Brief.id.in_(ids))).all()
    elif kind == "photo":
        rows = conn.execute(select(EventPhoto.id, Event.area_path).join(Event, Event.id == EventPhoto.event_id)
                            .where(EventPhoto.id.in_(ids))).all()
    elif kind == "household":
        rows = conn.execute(select(Household.id, Household.area_path).where(Household.id.in_(ids))).all()
    elif kind in ("form", "assignment"):
        from ..models import FormAssignment, FormPush

        table = FormPush if kind == "form" else FormAssignment
        rows = conn.execute(select(table.id, table.area_path).where(table.id.in_(ids))).all()
    elif kind == "form_photo":
        from ..models import FormAssignment, FormPhoto

        rows = conn.execute(select(FormPhoto.id, FormAssignment.area_path).join(
            FormAssignment, FormAssignment.id == FormPhoto.assignment_id).where(FormPhoto.id.in_(ids))).all()
    elif kind == "campaign":
        from ..models import VisitCampaign

        rows = conn.execute(select(VisitCampaign.id, VisitCampaign.area_path).where(VisitCampaign.id.in_(ids))).all()
    elif kind in ("user", "device", "client"):
        from .admin_scope import anchored_paths

        rows = anchored_paths(conn, kind, ids)
    elif kind == "whistle":  # a 报到 request lies at its event and belongs to its department
        rows = [(i, (p, d)) for i, p, d in conn.execute(select(Whistle.id, Whistle.area_path, Whistle.department_code)
                                                        .where(Whistle.id.in_(ids)))]
    else:
        raise KeyError(f"unknown id kind {kind!r}")
    return {str(i): p for i, p in rows}


def visible(principal: Principal, kind: str, path) -> bool:
    """True when an id of `kind` located at `path` (a list of paths for a drill) may be named by `principal`."""
    if kind == "drill":  # all of it: a drill's report shows every community the drill reached
        return bool(path) and all(principal.covers(p) for p in path)
    if kind == "whistle":  # a department names only its own department's requests
        return principal.covers(path[0]) and principal.department in (None, path[1])
    if kind == "staff":  # on the caller's side of the tree: inside the scope, or above it (街道下沉专员)
        return bool(path) and (principal.covers(path) or any(root.startswith(path) for root in principal.scope))
    return principal.covers(path)


def refused_ids(conn: Connection, principal: Principal, kind: str, values: Iterable) -> list:
    """The ids of one kind that `principal` may not name: unknown ones and those outside its scope."""
    values = [v for v in dict.fromkeys(values) if v not in (None, "", 0, "0")]  # placeholders name nothing
    if not values:
        return []
    if kind == "department":
        known = set(load_taxonomy().departments)
        return [v for v in values if str(v) not in known]
    paths = _paths(conn, kind, values)
    return [v for v in values if str(v) not in paths or not visible(principal, kind, paths[str(v)])]
