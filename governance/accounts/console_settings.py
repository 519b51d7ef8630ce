"""Data files besides the warning rules edited in the admin console: departments, 报到 limits, visit plans.

The mechanism of governance/console/rule_settings.py, reused: the YAML file stays the source of the defaults; a
change made in the console is a row of `rule_override` whose path is "<document>:<dotted path>"
("taxonomy:fire.name", "participation:whistle.report_hours.3", "people:elderly_alone.every_days"), laid
over the file whenever the document is read. A value is read as the file would read it (YAML), the whole
merged document goes through the document's start-up check (an invalid value is refused with exactly
the start-up message and nothing is stored), and every change is audited with before/after. A change
bumps the same revision as a warning setting, so the data version (governance/core/cache.py) moves on and
every process — web workers and the scheduler — reads the change from the database without a restart.
"""
from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..core.access import Principal
from ..models import RuleOverride
from .admin_ops import AdminError, is_root, record_change
from ..models import Area
from ..core.setting_paths import SettingError, get_path, parse_value, revision, set_path
from ..core.setting_paths import dump_lines as _dump


@dataclass(frozen=True)
class SettingsDoc:
    """One YAML document the console may change: its key, defaults, start-up check and editable paths."""

    key: str                                  # prefix of its rows in rule_override ("taxonomy", "people" …)
    base: Callable[[], dict]                  # the file's document (a fresh copy)
    check: Callable[[dict], object]           # the start-up check: raises `error` with its message
    error: type                               # the start-up check's exception
    editable: Callable[[], list[str]]         # paths the console may change
    action: str                               # admin_change action of a change ("dept_change" …)


def overrides(conn: Connection, doc: SettingsDoc) -> dict:
    """{path: value} of the document's settings changed in the console (and still changed)."""
    prefix = doc.key + ":"
    return {r.path[len(prefix):]: r.value for r in conn.execute(
        select(RuleOverride.path, RuleOverride.value).where(RuleOverride.path.like(prefix + "%")))
        if r.value is not None}


def changed_rows(conn: Connection, doc: SettingsDoc) -> dict:
    """{path: (who, when)} of the document's settings now changed in the console."""
    prefix = doc.key + ":"
    return {r.path[len(prefix):]: (r.updated_by, r.updated_at) for r in conn.execute(
        select(RuleOverride.path, RuleOverride.value, RuleOverride.updated_by, RuleOverride.updated_at)
        .where(RuleOverride.path.like(prefix + "%"))) if r.value is not None}


def effective(doc: SettingsDoc, overrides_: dict) -> dict:
    """The file's document with the console's changes laid over it (a path the file lost: the file wins)."""
    out = doc.base()
    for path, value in sorted(overrides_.items()):
        try:
            set_path(out, path, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return out


def cache_key(conn: Connection, doc: SettingsDoc) -> str:
    """A text naming the document's set of changes (for caching what is derived from it)."""
    return json.dumps(overrides(conn, doc), sort_keys=True, ensure_ascii=False)


def manages_shared(conn: Connection, p: Principal) -> bool:
    """True when an admin may change deployment-wide data: city-wide, or its subtree holds every sub-district.

    Departments and visit plans hold for the whole deployment; a community or grid admin never changes
    them, and a sub-district admin only where the deployment is its own sub-district.
    """
    if is_root(p):
        return True
    level = conn.execute(select(Area.level).where(Area.code == (p.home or ""))).scalar()
    if level not in ("city", "district", "subdistrict"):
        return False
    return all(p.covers(path) for path in conn.execute(select(Area.path).where(Area.level == "subdistrict")).scalars())


def propose(conn: Connection, doc: SettingsDoc, path: str, text) -> dict:
    """Check a change without storing it: {path, before, after, diff}; the start-up error or SettingError."""
    if path not in doc.editable():
        raise SettingError(f"不能在此修改的设置：{path}")
    if str(text if text is not None else "").strip() == "":
        raise SettingError("请填写新值")
    current = overrides(conn, doc)
    before_doc = effective(doc, current)
    after_doc = effective(doc, {**current, path: parse_value(text)})
    doc.check(copy.deepcopy(after_doc))  # the start-up check: raises its own error and message
    diff = [line for line in difflib.unified_diff(_dump(before_doc), _dump(after_doc), "当前", "修改后", n=1,
                                                 lineterm="")]
    return {"path": path, "before": get_path(before_doc, path), "after": get_path(after_doc, path), "diff": diff}


def apply(conn: Connection, doc: SettingsDoc, p: Principal, path: str, text, now: datetime) -> dict:
    """Store a change (None: back to the file's value) after the start-up check; audited with before/after."""
    if not manages_shared(conn, p):
        raise AdminError("部门与走访计划对整个辖区生效，只有全市或街道管理员可以修改")
    if text is None:
        if path not in doc.editable():
            raise SettingError(f"不能在此修改的设置：{path}")
        current = overrides(conn, doc)
        rest = {k: v for k, v in current.items() if k != path}
        doc.check(effective(doc, rest))
        change = {"path": path, "before": get_path(effective(doc, current), path),
                  "after": get_path(doc.base(), path), "diff": []}
        value = None
    else:
        change = propose(conn, doc, path, text)
        value = parse_value(text)
    full = f"{doc.key}:{path}"
    values = {"value": value, "revision": revision(conn) + 1, "updated_at": now, "updated_by": p.name[:80]}
    if conn.execute(select(RuleOverride.path).where(RuleOverride.path == full)).first():
        conn.execute(update(RuleOverride).where(RuleOverride.path == full).values(**values))
    else:
        conn.execute(insert(RuleOverride), [{"path": full, **values}])
    record_change(conn, p.name, doc.action if text is not None else doc.action.replace("_change", "_reset"), full,
                  p.scope[0] if p.scope else "/", {"value": change["before"]}, {"value": change["after"]}, now)
    return change


__all__ = ["AdminError", "SettingError", "SettingsDoc", "apply", "effective", "manages_shared", "overrides",
           "propose"]
