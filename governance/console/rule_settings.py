"""Warning and escalation settings edited in the admin console, applied without a restart.

warning_rules.yaml stays the source of defaults; a change made in the console is stored in
rule_override (dotted path → value) and laid over the file whenever rules are read. A value is
parsed like the file would parse it (YAML) and the whole merged document is validated by the
start-up check (governance.alerts.warnings.parse_rules): an invalid value is refused with exactly the
message a bad file would give at start. Every change is audited with before/after.
"""
from __future__ import annotations

import copy
import difflib
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..models import RuleOverride
from ..core.setting_paths import SettingError, get_path, parse_value, revision  # noqa: F401 - named here too
from ..core.setting_paths import dump_lines as _dump
from ..alerts.rules_in_force import current_rules, effective_doc, file_doc, overrides  # noqa: F401 - named here too
from ..alerts.warnings import RulesError, parse_rules  # noqa: F401 - RulesError: the refusal callers catch

# Labels of the settings a leader recognises; other editable leaves show their path.
LABELS = {
    "event.red_at_severity": "该等级及以上的事件在办期间一律红色",
    "event.overdue_red_at_severity": "该等级及以上的事件超期即红色",
    "event.accept_hours": "派单后未签收预警（小时）",
    "event.accept_level": "未签收预警颜色",
    "event.repeat.count": "重复上报：次数",
    "event.repeat.days": "重复上报：天数",
    "event.repeat.level": "重复上报：颜色",
    "event.rework_level": "返工/重开：颜色",
    "grid.spike.baseline_days": "异常增多：基线天数",
    "grid.spike.min_count": "异常增多：最少件数",
    "grid.spike.orange_p": "异常增多：橙色 p 值",
    "grid.spike.red_p": "异常增多：红色 p 值",
    "escalation.not_accepted_hours": "分级预控：未签收自动升级（小时）",
    "escalation.overdue_at_level": "分级预控：本层级超期自动升级",
    "notify.max_messages_per_sync": "群机器人：每轮最多条数",
}
SKIP_KEYS = {"colors", "reason", "level", "children", "levels"}  # colours and reason texts are not thresholds
KEEP_LEVEL = {"event.accept_level", "event.repeat.level", "event.rework_level"}


def editable_paths(doc: dict | None = None) -> list[str]:
    """Every scalar setting the console may change, in file order (not colours or reason texts)."""
    out: list[str] = []

    def walk(node, prefix: str):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else None
        if items is None:
            if prefix in KEEP_LEVEL or not set(prefix.split(".")) & SKIP_KEYS:
                out.append(prefix)
            return
        for k, v in items:
            if prefix == "" and k == "colors":
                continue
            walk(v, f"{prefix}.{k}" if prefix else str(k))
    walk(doc if doc is not None else file_doc(), "")
    return out


LEVEL_WORDS = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}


def label(path: str, doc: dict | None = None) -> str:
    """Chinese label of a setting (list entries are named by the colour their rule gives; else the path)."""
    if path in LABELS:
        return LABELS[path]
    parts = path.split(".")
    try:
        if parts[0] == "sla_tiers_hours":
            from ..core.workflow import SEVERITIES

            return f"“{SEVERITIES.get(int(parts[1]), parts[1])}”事件办理时限（小时，对此后接入的事件）"
        doc = doc if doc is not None else file_doc()
        if parts[:2] == ["event", "elapsed"]:
            return f"{LEVEL_WORDS[get_path(doc, '.'.join(parts[:3]) + '.level')]}：已用办理时限比例 ≥"
        if parts[:2] == ["grid", "from_events"]:
            need = LEVEL_WORDS.get(parts[3].removesuffix("_events"), parts[3])
            return f"网格{LEVEL_WORDS[get_path(doc, '.'.join(parts[:3]) + '.level')]}：{need}及以上在办事件 ≥"
        if parts[:2] == ["grid", "parent"]:
            rule = get_path(doc, ".".join(parts[:3]))
            what = {"share": "占比 ≥", "count": "个数 ≥"}.get(parts[3], parts[3])
            return f"上级区域{LEVEL_WORDS[rule['level']]}：下辖{LEVEL_WORDS[rule.get('children', rule['level'])]}微网格{what}"
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    return path


def propose(conn: Connection, path: str, text: str) -> dict:
    """Check a change without storing it: {path, label, before, after, diff}; RulesError/SettingError if refused."""
    if path not in editable_paths():
        raise SettingError(f"不能在此修改的设置：{path}")
    if str(text).strip() == "":
        raise SettingError("请填写新值")
    current = overrides(conn)
    before_doc = effective_doc(current)
    after_doc = effective_doc({**current, path: parse_value(text)})
    parse_rules(copy.deepcopy(after_doc))  # the start-up check: raises RulesError with its own message
    before, after = get_path(before_doc, path), get_path(after_doc, path)
    diff = [line for line in difflib.unified_diff(_dump(before_doc), _dump(after_doc), "当前", "修改后", n=1,
                                                 lineterm="")]
    return {"path": path, "label": label(path), "before": before, "after": after, "diff": diff}


def apply(conn: Connection, path: str, text: str | None, actor: str, now: datetime) -> dict:
    """Store a change (None: back to the file's value) after the start-up check; audited with before/after."""
    from ..accounts.admin_ops import record_change

    if text is None:
        if path not in editable_paths():
            raise SettingError(f"不能在此修改的设置：{path}")
        current = overrides(conn)
        change = {"path": path, "before": get_path(effective_doc(current), path),
                  "after": get_path(file_doc(), path), "diff": []}
        parse_rules(effective_doc({k: v for k, v in current.items() if k != path}))
        value = None
    else:
        change = propose(conn, path, text)
        value = parse_value(text)
    rev = revision(conn) + 1
    exists = conn.execute(select(RuleOverride.path).where(RuleOverride.path == path)).first()
    values = {"value": value, "revision": rev, "updated_at": now, "updated_by": actor[:80]}
    if exists:
        conn.execute(update(RuleOverride).where(RuleOverride.path == path).values(**values))
    else:
        conn.execute(insert(RuleOverride), [{"path": path, **values}])
    record_change(conn, actor, "rule_change" if text is not None else "rule_reset", path, "/",
                  {"value": change["before"]}, {"value": change["after"]}, now)
    # The warning table is the one evaluated result every screen reads (#18): bring it in line now, not at
    # the scheduler's next run, so the wall and /rules change together.
    from ..alerts.warning_lifecycle import sync_warnings

    sync_warnings(conn, "/", now, current_rules(conn))
    return change


def settings_rows(conn: Connection) -> list[dict]:
    """Every editable setting: path, label, file value, value in force, who changed it and when."""
    base, changed = file_doc(), {r.path: r for r in conn.execute(select(RuleOverride.__table__))}
    doc = effective_doc(overrides(conn))
    rows = []
    for path in editable_paths(base):
        row = changed.get(path)
        rows.append({"path": path, "label": label(path, base), "file": get_path(base, path), "value": get_path(doc, path),
                     "changed": row is not None and row.value is not None,
                     "by": row.updated_by if row is not None else "", "at": row.updated_at if row is not None else None})
    return rows


__all__ = ["RulesError", "SettingError", "apply", "current_rules", "propose", "revision", "settings_rows"]
