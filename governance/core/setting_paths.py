"""Dotted paths into a YAML settings document and the revision of console changes (shared by every settings page)."""
from __future__ import annotations

import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..models import RuleOverride


class SettingError(ValueError):
    """A setting that cannot be changed (unknown path), with a Chinese message."""


def _key(container, part: str):
    if isinstance(container, list):
        return int(part)
    if part in container:
        return part
    try:
        return int(part) if int(part) in container else part
    except ValueError:
        return part


def get_path(doc, path: str):
    """The value at a dotted path ("event.repeat.count", "event.elapsed.1.at_least")."""
    node = doc
    for part in path.split("."):
        node = node[_key(node, part)]
    return node


def set_path(doc, path: str, value) -> None:
    """Set the value at a dotted path (which must exist)."""
    *head, last = path.split(".")
    node = doc
    for part in head:
        node = node[_key(node, part)]
    node[_key(node, last)] = value


def revision(conn: Connection) -> int:
    """The newest change's revision (0 when nothing was ever changed): part of the data version."""
    return conn.execute(select(func.max(RuleOverride.revision))).scalar() or 0


def parse_value(text: str):
    """A typed value as the YAML file would read it ("3" → 3, "0.5" → 0.5, "false" → False)."""
    try:
        value = yaml.safe_load(str(text))
    except yaml.YAMLError:
        return str(text)
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(text)


def dump_lines(doc: dict) -> list[str]:
    """The document as YAML lines (for showing a change as a diff)."""
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None).splitlines()
