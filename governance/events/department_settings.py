"""Departments (吹哨报到) and their 报到 time limits in the admin console, applied without a restart.

Two documents, each changed through governance/accounts/console_settings.py:
- `taxonomy`: the departments of taxonomy.yaml keyed by code ({"fire": {"name", "kind", "enabled"}}), checked
  by the start-up check of the taxonomy (governance.core.taxonomy.parse_taxonomy on the whole file with the
  edited departments); `name` and `enabled` may change. A saved name is also written to the `department`
  table, which every screen reads names from (dispatch suggestions, whistles, /dept, 部门响应). A disabled
  department is not offered when dispatching and cannot be whistled in.
- `participation`: `whistle.report_hours` of participation.yaml (报到 limit by the event's severity), checked
  by governance.events.participation.parse_participation; new whistles take their deadline from the value in force.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..core.access import Principal
from ..accounts.console_settings import SettingsDoc, apply, changed_rows, effective, overrides
from ..models import Department
from .participation import RULES_FILE as PARTICIPATION_FILE
from .participation import ParticipationError, ParticipationRules, parse_participation
from ..core.taxonomy import TAXONOMY_FILE, TaxonomyError, load_taxonomy, parse_taxonomy
from ..core.workflow import SEVERITIES

FIELDS = {"name": "名称", "enabled": "启用"}


@lru_cache(maxsize=2)
def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _departments_doc() -> dict:
    return {d["code"]: {"name": d["name"], "kind": d.get("kind", ""), "enabled": d.get("enabled", True)}
            for d in yaml.safe_load(_text(TAXONOMY_FILE)).get("departments", [])}


def _check_departments(doc: dict):
    full = yaml.safe_load(_text(TAXONOMY_FILE))
    full["departments"] = [{"code": code, **entry} for code, entry in doc.items()]
    return parse_taxonomy(full)


DEPARTMENTS = SettingsDoc(
    key="taxonomy", base=_departments_doc, check=_check_departments, error=TaxonomyError,
    editable=lambda: [f"{code}.{f}" for code in _departments_doc() for f in FIELDS], action="dept_change")
PARTICIPATION = SettingsDoc(
    key="participation", base=lambda: yaml.safe_load(_text(PARTICIPATION_FILE)), check=parse_participation,
    error=ParticipationError, action="report_limit_change",
    editable=lambda: [f"whistle.report_hours.{k}" for k in
                      yaml.safe_load(_text(PARTICIPATION_FILE))["whistle"]["report_hours"]])
DOCS = {d.key: d for d in (DEPARTMENTS, PARTICIPATION)}
ERRORS = (TaxonomyError, ParticipationError)


@lru_cache(maxsize=16)
def _participation_for(key: str) -> ParticipationRules:
    import json

    return parse_participation(effective(PARTICIPATION, json.loads(key)))


def effective_participation(conn: Connection) -> ParticipationRules:
    """The participation rules in force: participation.yaml plus the console's changes, validated (cached)."""
    import json

    return _participation_for(json.dumps(overrides(conn, PARTICIPATION), sort_keys=True, ensure_ascii=False))


def disabled_departments(conn: Connection) -> set[str]:
    """Codes of the departments an admin disabled (not offered when dispatching, cannot be whistled in)."""
    return {path.split(".")[0] for path, value in overrides(conn, DEPARTMENTS).items()
            if path.endswith(".enabled") and value is False}


def label(full_path: str) -> str:
    """Chinese label of a setting "taxonomy:fire.name" / "participation:whistle.report_hours.3"."""
    key, _, path = full_path.partition(":")
    if key == "participation":
        sev = int(path.rsplit(".", 1)[1])
        return f"“{SEVERITIES.get(sev, sev)}”事件部门报到时限（小时）"
    code, _, field = path.partition(".")
    name = _departments_doc().get(code, {}).get("name", code)
    return f"{name}：{FIELDS.get(field, field)}"


def choices() -> list[dict]:
    """Every editable setting of the departments page as dropdown choices (value "doc:path")."""
    return [{"label": f"{label(f'{d.key}:{p}')}（{d.key}:{p}）", "value": f"{d.key}:{p}"}
            for d in (DEPARTMENTS, PARTICIPATION) for p in d.editable()]


def department_rows(conn: Connection) -> list[dict]:
    """Every department: code, name and state in force, file name, duty phone, the categories it handles."""
    base, doc = _departments_doc(), effective(DEPARTMENTS, overrides(conn, DEPARTMENTS))
    changed = changed_rows(conn, DEPARTMENTS)
    phones = dict(conn.execute(select(Department.code, Department.phone)).all())
    handles: dict[str, list[str]] = {}
    for cat in load_taxonomy().categories.values():
        for code in cat.departments:
            handles.setdefault(code, []).append(cat.name)
    rows = []
    for code, entry in doc.items():
        mine = [v for k, v in changed.items() if k.startswith(code + ".")]
        last = max(mine, key=lambda v: v[1]) if mine else ("", None)
        rows.append({"code": code, "name": entry["name"], "file_name": base[code]["name"], "kind": entry["kind"],
                     "enabled": entry.get("enabled", True) is not False, "phone": phones.get(code) or "",
                     "handles": handles.get(code, []), "by": last[0], "at": last[1]})
    return rows


def report_limits(conn: Connection) -> list[dict]:
    """报到 limits by severity in force, with the file's value."""
    rules, base = effective_participation(conn), parse_participation(PARTICIPATION.base())
    return [{"severity": sev, "label": SEVERITIES.get(sev, str(sev)), "hours": hours,
             "file": base.report_hours.get(sev)} for sev, hours in sorted(rules.report_hours.items())]


def save(conn: Connection, p: Principal, full_path: str, text, now: datetime) -> dict:
    """Change one setting of the departments page (None: back to the file); names reach the department table."""
    key, _, path = full_path.partition(":")
    if key not in DOCS:
        from ..accounts.console_settings import SettingError

        raise SettingError(f"不能在此修改的设置：{full_path}")
    change = apply(conn, DOCS[key], p, path, text, now)
    if key == "taxonomy" and path.endswith(".name"):
        code = path.split(".")[0]
        conn.execute(update(Department).where(Department.code == code).values(name=str(change["after"]).strip()))
    change["label"] = label(full_path)
    return change


def set_enabled(conn: Connection, p: Principal, code: str, enabled: bool, now: datetime) -> dict:
    """停用 / 启用 a department (as a change of its `enabled` setting, audited)."""
    return save(conn, p, f"taxonomy:{code}.enabled", "true" if enabled else "false", now)
