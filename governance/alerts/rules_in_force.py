"""The warning rules in force: warning_rules.yaml with the admin console's changes laid over it, validated."""
from __future__ import annotations

import json
from functools import lru_cache

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ..models import RuleOverride
from ..core.setting_paths import set_path
from .warnings import RULES_FILE, Rules, parse_rules


@lru_cache(maxsize=1)
def _file_text() -> str:
    return RULES_FILE.read_text(encoding="utf-8")


def file_doc() -> dict:
    """The rules document as the file holds it (a fresh copy)."""
    return yaml.safe_load(_file_text())


def overrides(conn: Connection) -> dict:
    """{path: value} of every setting changed in the console (and still changed)."""
    return {r.path: r.value for r in conn.execute(select(RuleOverride.path, RuleOverride.value))
            if r.value is not None and ":" not in r.path}  # "doc:path" rows: governance/accounts/console_settings.py


def effective_doc(overrides_: dict) -> dict:
    """The file's document with the console's changes laid over it."""
    doc = file_doc()
    for path, value in sorted(overrides_.items()):
        try:
            set_path(doc, path, value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue  # a path the file no longer has: the file wins
    return doc


@lru_cache(maxsize=16)
def _rules_for(key: str) -> Rules:
    return parse_rules(effective_doc(json.loads(key)))


def current_rules(bind: Connection | Engine) -> Rules:
    """The rules in force now: the file plus the console's changes, validated (cached per set of changes)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return current_rules(conn)
    return _rules_for(json.dumps(overrides(bind), sort_keys=True, ensure_ascii=False))
